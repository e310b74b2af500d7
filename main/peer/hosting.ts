import type { Change, VersionedChange } from '../store/types.js';
import { encodeEvent, type Channel, type DeskInfo } from './channel.js';
import { bySize, checkIncoming, PAGE, versioned } from './changes.js';
import { statusHandler, targetOf, type DeskContext, type ListedDesk, type Target } from './context.js';

/** What a host does that only a host does: it keeps its followers, streams to them, and looks for desks that went missing. */
export interface Hosting {
  /** An incoming channel while hosting: it may ask to follow. */
  accept(channel: Channel): void;
  /** Sends changes made on this desk (or merged from one follower) to every follower. */
  stream(changes: Change[], except?: Channel): void;
  /** Every desk of the calendar as this host sees it, itself first. */
  desks(): ListedDesk[];
  /** Whether a follower holds the whole calendar (this desk is in sync with it). */
  hasSyncedFollower(): boolean;
  /** Tells every follower to follow `target` from now on. */
  moveTo(target: Target & { deskId: string }): void;
  /** Hands hosting to the best follower; resolves with it, or null when none took over in time. */
  handover(): Promise<DeskInfo | null>;
  /** Gives every follower the new key; resolves once they acknowledged (or the time is up). */
  rekey(key: string, keyGen: number): Promise<{ told: number; failed: number }>;
  close(why: string): void;
}

export interface HostingHooks {
  /** Another host of this calendar was found (a healed split): meet it. */
  otherHost(channel: Channel, host: { deskId: string; addresses: string[]; deskPort: number }): void;
  /** A follower asks for a new key; the runtime makes one and calls `rekey`. */
  requestRekey(): Promise<unknown>;
  /** A host that asks this one to give way. */
  meet(channel: Channel): Promise<{ keep: boolean }>;
  /** Followers, names or sync state changed (for the status and who is online). */
  changed(): void;
}

interface Follower {
  channel: Channel;
  synced: boolean;
  revision: number;
}

/** Revisions change with every write: lists go out for them at most this often. */
const REVISION_LIST_MS = 5000;

export function startHosting(ctx: DeskContext, hooks: HostingHooks): Hosting {
  const { store, log, timing, book } = ctx;
  const followers = new Map<string, Follower>();
  // Desks that left without a goodbye, and when: looked for often at first (a split heals), then rarely.
  const lostAt = new Map<string, number>();
  const nextLook = new Map<string, number>();
  // One picture of the state per pull, taken at its first page and handed out a page at a time.
  const exports = new WeakMap<Channel, { pages: Iterator<VersionedChange[]>; parts: VersionedChange[][]; at: number; revision: number }>();
  let closed = false;

  const listDesks = (): ListedDesk[] => {
    const self = ctx.me.info();
    return [
      { deskId: self.deskId, name: self.name, role: 'host', addresses: self.addresses, deskPort: self.deskPort, webPort: self.webPort, synced: true, revision: store.revision() },
      ...[...followers.values()].map(({ channel: { peer, remoteAddress }, synced, revision }) => ({
        deskId: peer.deskId,
        name: peer.name,
        role: peer.role === 'leaving' ? ('leaving' as const) : ('peer' as const),
        addresses: targetOf(peer, remoteAddress).addresses,
        deskPort: peer.deskPort,
        webPort: peer.webPort,
        synced,
        revision,
      })),
    ];
  };
  // One list for every burst of comings and goings.
  let listQueued = false;
  const shareDesks = () => {
    if (listQueued || closed) return;
    listQueued = true;
    setImmediate(() => {
      listQueued = false;
      if (closed) return;
      const desks = listDesks();
      // Encoded once for every follower, as the changes are.
      const message = encodeEvent('desks', { desks });
      for (const { channel } of followers.values()) channel.emitEncoded(message);
      book.note(desks);
      hooks.changed();
    });
  };

  // A follower's progress alone is no news worth a list at once: it waits for the next one, or a while.
  let progressTimer: NodeJS.Timeout | null = null;
  const progressed = () => {
    progressTimer ??= setTimeout(() => {
      progressTimer = null;
      shareDesks();
    }, REVISION_LIST_MS);
  };

  const follower = (channel: Channel) => {
    const f = followers.get(channel.peer.deskId);
    if (!f || f.channel !== channel) throw new Error('follow this host first');
    return f;
  };

  const handlers = {
    follow(_args: unknown, channel: Channel) {
      const id = channel.peer.deskId;
      followers.get(id)?.channel.close('the same desk connected again');
      const entry: Follower = { channel, synced: false, revision: 0 };
      followers.set(id, entry);
      lostAt.delete(id);
      channel.onEvent((event, data) => {
        const revision = Number((data as { revision?: unknown } | null)?.revision);
        if (event !== 'at' || !Number.isSafeInteger(revision) || revision < 0 || revision === entry.revision) return;
        entry.revision = revision;
        progressed();
      });
      channel.onClose((why) => {
        if (followers.get(id)?.channel !== channel) return;
        followers.delete(id);
        // A desk that said goodbye left on purpose; any other loss may be a split network.
        if (!/^leaving/.test(why)) lostAt.set(id, Date.now());
        shareDesks();
      });
      shareDesks();
      return { revision: store.revision(), storeId: store.storeId };
    },
    async push(args: unknown, channel: Channel) {
      follower(channel);
      const { changes, refused } = checkIncoming((args as { changes?: unknown })?.changes, timing.now());
      if (refused.length > 0) log.warn(`refused ${refused.length} changes from desk ${channel.peer.deskId.slice(0, 8)}: ${refused[0]}`);
      const applied = await store.merge(changes);
      ctx.announce(applied);
      stream(applied, channel);
      return { applied: applied.length, refused, revision: store.revision() };
    },
    pullState(args: unknown, channel: Channel) {
      follower(channel);
      const from = Number((args as { from?: unknown })?.from ?? 0);
      if (!Number.isSafeInteger(from) || from < 0) throw new Error('from must be a position');
      // Changes made meanwhile reach the follower through the stream, and the merge keeps the
      // later version whichever comes first: a picture a few pages old is no harm.
      let pull = exports.get(channel);
      if (!pull || from === 0) {
        const state = store.exportPages(PAGE);
        exports.set(channel, (pull = { pages: state.pages[Symbol.iterator](), parts: [], at: 0, revision: state.revision }));
      }
      if (from !== pull.at) throw new Error(`pull from ${pull.at}, not ${from}`);
      // A page of large records goes out in parts, one an answer, each under PAGE_BYTES.
      if (pull.parts.length === 0) {
        const page = pull.pages.next();
        if (!page.done) pull.parts = bySize(page.value);
      }
      const changes = pull.parts.shift() ?? [];
      pull.at += changes.length;
      const next = changes.length === 0 ? null : pull.at;
      if (next === null) exports.delete(channel);
      return { changes, next, revision: pull.revision };
    },
    synced(_args: unknown, channel: Channel) {
      follower(channel).synced = true;
      shareDesks();
      return { ok: true };
    },
    ...statusHandler(ctx),
    requestRekey: () => hooks.requestRekey(),
    meet: (_args: unknown, channel: Channel) => hooks.meet(channel),
  };

  const stream = (changes: Change[], except?: Channel) => {
    if (changes.length === 0 || closed) return;
    // A page may be megabytes: encoded once, when the first follower needs it, for all of them.
    let message: string | undefined;
    for (const { channel } of followers.values()) {
      if (channel !== except) channel.emitEncoded((message ??= encodeEvent('changes', { rev: changes.at(-1)!.rev, changes: changes.map(versioned) })));
    }
  };

  /** Looks for desks of this calendar that are not here: one that answers may be on the other side of a healed split. */
  const lookOut = async () => {
    const now = Date.now();
    const missing = book.all().filter((d) => !followers.has(d.deskId) && now >= (nextLook.get(d.deskId) ?? 0));
    for (const desk of missing.slice(0, 8)) {
      const lost = lostAt.get(desk.deskId);
      const fast = lost !== undefined && now - lost < timing.fastProbeForMs;
      nextLook.set(desk.deskId, now + (fast ? timing.fastProbeMs : timing.slowProbeMs) * (0.8 + Math.random() * 0.4));
    }
    await Promise.all(
      missing.slice(0, 8).map(async (desk) => {
        const channel = await ctx.connect(desk, timing.connectMs);
        if (!channel) return;
        if (closed) return channel.close('no longer hosting');
        const { peer } = channel;
        if (peer.role === 'host') {
          return hooks.otherHost(channel, { deskId: peer.deskId, addresses: targetOf(peer, channel.remoteAddress).addresses, deskPort: peer.deskPort });
        }
        if (peer.host && peer.host.deskId !== ctx.me.cert.deskId) {
          hooks.otherHost(channel, peer.host);
          return;
        }
        channel.close('only looking');
      }),
    ).catch((err) => log.warn(`looking for missing desks: ${(err as Error).message}`));
  };
  let looking = false;
  const lookout = setInterval(() => {
    if (looking || closed) return;
    looking = true;
    void lookOut().finally(() => (looking = false));
  }, Math.min(timing.fastProbeMs, 1000));

  return {
    accept(channel) {
      channel.serve(handlers);
    },
    stream,
    desks: listDesks,
    hasSyncedFollower: () => [...followers.values()].some((f) => f.synced),
    moveTo(target) {
      const to = { deskId: target.deskId, addresses: target.addresses, deskPort: target.deskPort };
      for (const { channel } of followers.values()) if (channel.peer.deskId !== target.deskId) channel.emit('moved', to);
    },
    async handover() {
      const best = [...followers.values()]
        .filter((f) => f.synced && f.channel.peer.role !== 'leaving')
        .sort((a, b) => (a.channel.peer.deskId < b.channel.peer.deskId ? -1 : 1))[0];
      if (!best) return null;
      try {
        await best.channel.call('handover', {}, timing.handoverMs);
        return best.channel.peer;
      } catch (err) {
        log.warn(`hand-over to desk ${best.channel.peer.deskId.slice(0, 8)} failed: ${(err as Error).message}`);
        return null;
      }
    },
    async rekey(key, keyGen) {
      const results = await Promise.allSettled([...followers.values()].map(({ channel }) => channel.call('rekey', { key, keyGen }, 5000)));
      return { told: results.filter((r) => r.status === 'fulfilled').length, failed: results.filter((r) => r.status === 'rejected').length };
    },
    close(why) {
      if (closed) return;
      closed = true;
      clearInterval(lookout);
      if (progressTimer) clearTimeout(progressTimer);
      for (const { channel } of followers.values()) channel.close(why);
      followers.clear();
    },
  };
}
