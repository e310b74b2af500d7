import type { Change } from '../store/types.js';
import type { Channel, DeskInfo } from './channel.js';
import { statusHandler, targetOf, type DeskContext, type ListedDesk, type Target } from './context.js';
import type { Role } from './discovery.js';
import { awaitHost, findHost } from './finding.js';
import { follow, type Following } from './following.js';
import { startHosting, type Hosting } from './hosting.js';

/** A line-worthy moment in a desk's life, for the CLI's stdout and the desktop's status area. */
export type RoleEvent =
  | { kind: 'hosting'; takeover: boolean }
  | { kind: 'joined'; host: DeskInfo; address: string }
  | { kind: 'host-lost'; host: string }
  | { kind: 'stepping-down'; host: string };

export interface RoleHooks {
  onRole(event: RoleEvent): void;
  /** The role, the host or the desks changed. */
  changed(): void;
  /** Where else to look for the calendar: mDNS hints, known desks, an invite. */
  targets(): Target[];
  /** The host handed on a new key, or a follower asked for one (the runtime makes it, then calls `rekeyFollowers`). */
  adoptKey(key: string, keyGen: number): Promise<void>;
  changeKey(): Promise<unknown>;
  /** False once desks of the calendar refused this desk's key as an old one: it must not start a calendar of its own. */
  mayHost(): boolean;
  /** The host's clock was read again (a pong). */
  clock(): void;
  /** This desk became the host (what only a host writes, such as the calendar's default zone). */
  hosting(): void;
  /** Back after a long absence: edits made meanwhile to records deleted elsewhere (titles). */
  lostEdits(titles: string[]): void;
  /** This desk has just caught up with another (it joined a host, or a follower joined it). */
  inSync(): void;
}

/**
 * Which role this desk plays, and every move between roles: looking for the host at start,
 * following it, taking over when it is gone, meeting another host after a split, handing over
 * when leaving. One move at a time: anything that happens meanwhile waits its turn.
 */
export function createRoles(ctx: DeskContext, hooks: RoleHooks) {
  const { log, timing } = ctx;
  const myId = ctx.me.cert.deskId;
  let role: Role = 'starting';
  let hosting: Hosting | null = null;
  let following: Following | null = null;
  let joining: DeskInfo | null = null;
  /** The channel of a join under way: the host's clock is read from it before the join is done. */
  let joiningChannel: Channel | null = null;
  let lastDesks: ListedDesk[] = [];
  let unsent: Change[] = [];
  let closing = false;
  const incoming = new Set<Channel>();

  let queue: Promise<unknown> = Promise.resolve();
  const serial = (what: string, run: () => Promise<unknown>) => {
    queue = queue.then(() => (closing ? undefined : run())).catch((err) => log.warn(`${what}: ${(err as Error).message}`));
    return queue;
  };
  const set = (next: Role) => {
    role = next;
    hooks.changed();
  };

  const baseHandlers = {
    ...statusHandler(ctx),
    follow: () => {
      throw new Error('this desk does not host the calendar');
    },
  };

  /** `handedOver`: the old host asked for this, and is waiting on the same channel for the answer. */
  const becomeHost = (takeover: boolean, handedOver = false) => {
    if (!handedOver) following?.close('taking over');
    following = null;
    joining = null;
    joiningChannel = null;
    hosting = startHosting(ctx, {
      otherHost: (channel, host) => void serial('meeting another host', () => meetHost(channel, host)),
      requestRekey: () => hooks.changeKey(),
      meet: async (channel) => {
        // Only a host with a smaller id asks this one to give way (the same rule, seen from there).
        if (role !== 'host' || channel.peer.deskId > myId) return { keep: true };
        void serial('giving way', () => stepDown(targetOf(channel.peer, channel.remoteAddress) as Target & { deskId: string }));
        return { keep: false };
      },
      changed: () => {
        if (hosting?.hasSyncedFollower()) hooks.inSync();
        hooks.changed();
      },
    });
    for (const channel of incoming) hosting.accept(channel);
    unsent = [];
    set('host');
    hooks.hosting();
    hooks.onRole({ kind: 'hosting', takeover });
  };

  const join = async (channel: Channel): Promise<boolean> => {
    joining = channel.peer;
    joiningChannel = channel;
    if (role !== 'starting') set('peer');
    try {
      const f = await follow(ctx, channel, {
        lost: (why, desks) => void serial('the host is gone', () => hostLost(channel.peer, why, desks)),
        moved: (target) => void serial('following the new host', () => moveTo(target)),
        handover: async () => {
          await serial('taking over', async () => becomeHost(true, true));
        },
        rekey: (key, keyGen) => hooks.adoptKey(key, keyGen),
        changed: hooks.changed,
        lostEdits: hooks.lostEdits,
      });
      following = f;
      joining = null;
      joiningChannel = null;
      f.channel.onClock(hooks.clock);
      hooks.inSync();
      set('peer');
      if (unsent.length > 0) f.push(unsent.splice(0));
      hooks.onRole({ kind: 'joined', host: channel.peer, address: channel.remoteAddress });
      return true;
    } catch (err) {
      log.warn(`could not join desk ${channel.peer.deskId.slice(0, 8)}: ${(err as Error).message}`);
      joining = null;
      joiningChannel = null;
      return false;
    }
  };

  /** Looks around and takes the role the rule gives; `gone` is a host known to be lost. */
  const find = async (gone?: string): Promise<void> => {
    const targets = [...lastDesks.filter((d) => d.deskId !== gone && d.deskId !== myId).map((d) => targetOf(d)), ...hooks.targets()]
      .filter((t) => t.deskId !== myId && t.deskId !== gone);
    // Ranks from the list the last host shared: every survivor holds the same one.
    const listed = new Map(lastDesks.map((d) => [d.deskId, d]));
    const rankOf = (deskId: string) => ({ deskId, synced: listed.get(deskId)?.synced ?? false, revision: listed.get(deskId)?.revision ?? 0 });
    for (let round = 0; round < 5 && !closing; round++) {
      const found = await findHost(ctx, dedupe(targets), { ...rankOf(myId), rankOf }, gone);
      if (found.kind === 'host') return hooks.mayHost() ? becomeHost(role !== 'starting') : undefined;
      if (found.kind === 'follow') {
        if (await join(found.channel)) return;
        continue;
      }
      const led = await awaitHost(found.channel, timing.lossMs + 1500);
      if (led && 'call' in led) {
        if (await join(led)) return;
      } else if (led) {
        found.channel.close('only looking');
        const channel = await ctx.connect(led, timing.connectMs);
        if (channel && (await join(channel))) return;
      } else {
        found.channel.close('it did not take over');
        // It did not take over: look again without it.
        const silent = found.channel.peer.deskId;
        targets.splice(0, targets.length, ...targets.filter((t) => t.deskId !== silent));
      }
    }
    if (!closing && role !== 'host' && !following && hooks.mayHost()) becomeHost(role !== 'starting');
  };

  const hostLost = async (host: DeskInfo, why: string, desks: ListedDesk[]) => {
    if (following?.channel.peer.deskId === host.deskId) following = null;
    lastDesks = desks.filter((d) => d.deskId !== host.deskId);
    hooks.onRole({ kind: 'host-lost', host: host.deskId });
    log.info(`lost desk ${host.deskId.slice(0, 8)} (${why})`);
    hooks.changed();
    await find(host.deskId);
  };

  const moveTo = async (target: Target & { deskId: string }) => {
    lastDesks = following?.desks() ?? lastDesks;
    following?.close('moving to another host');
    following = null;
    const channel = await ctx.connect(target, timing.handshakeMs);
    if (channel && (await join(channel))) return;
    await find();
  };

  /** Two hosts of one calendar met (a healed split): the one with the larger id gives way. */
  const meetHost = async (channel: Channel, host: Target & { deskId: string }) => {
    if (role !== 'host' || host.deskId === myId) return channel.close('only looking');
    if (host.deskId < myId) {
      channel.close('giving way');
      return stepDown(host);
    }
    const theirs = channel.peer.deskId === host.deskId ? channel : await ctx.connect(host, timing.connectMs);
    if (theirs !== channel) channel.close('only looking');
    if (!theirs) return;
    await theirs.call('meet', {}, timing.handshakeMs).catch((err) => log.warn(`meeting host ${host.deskId.slice(0, 8)}: ${(err as Error).message}`));
    theirs.close('met');
  };

  const stepDown = async (target: Target & { deskId: string }) => {
    if (role !== 'host' || !hosting) return;
    hooks.onRole({ kind: 'stepping-down', host: target.deskId });
    lastDesks = hosting.desks();
    hosting.moveTo(target);
    hosting.close('moving to another host');
    hosting = null;
    set('peer');
    const channel = await ctx.connect(target, timing.handshakeMs);
    if (channel && (await join(channel))) return;
    await find();
  };

  return {
    /** Whether this desk is in sync with another right now (it follows a host, or a follower holds the whole calendar). */
    inSync: () => (following !== null) || (hosting?.hasSyncedFollower() ?? false),
    role: () => role,
    host: (): DeskInfo | null => following?.channel.peer ?? joining,
    hosting: () => hosting,
    following: () => following,
    /** The host's clock minus this desk's, while following or joining (null when this desk hosts or is alone). */
    clockOffset: (): number | null => (following?.channel ?? joiningChannel)?.clockOffset() ?? null,
    /** The calendar's desks as this desk knows them now. */
    desks: (): ListedDesk[] => hosting?.desks() ?? following?.desks() ?? lastDesks,
    start: () => serial('finding the host', () => find()),
    /** A desk proved the key to this one (it may want to follow, or only looks). */
    accept(channel: Channel) {
      incoming.add(channel);
      channel.onClose(() => incoming.delete(channel));
      if (hosting) hosting.accept(channel);
      else channel.serve(baseHandlers);
    },
    /** mDNS says another desk of this calendar hosts: if this one hosts too, they meet. */
    hostSeen(target: Target & { deskId: string }) {
      if (role !== 'host' || closing) return;
      void serial('meeting another host', async () => {
        const channel = await ctx.connect(target, timing.connectMs);
        if (channel) await meetHost(channel, target);
      });
    },
    /** Changes made on this desk: to the followers, or to the host. */
    local(changes: Change[]) {
      if (hosting) hosting.stream(changes);
      else if (following) following.push(changes);
      else if (unsent.length < 10_000) unsent.push(...changes);
    },
    /** Merged from a follower by the host, or from the host by a follower: followers hear it from the host. */
    rekeyFollowers: (key: string, keyGen: number) => hosting?.rekey(key, keyGen) ?? Promise.resolve({ told: 0, failed: 0 }),
    requestRekey: () => following?.channel.call('requestRekey', {}, 15_000),
    /** Leaves: a host hands over to its best follower first (bounded), then everyone lets go. */
    async close() {
      closing = true;
      await queue;
      if (hosting) {
        set('leaving');
        const successor = await hosting.handover();
        if (successor) hosting.moveTo(successor);
        hosting.close(successor ? 'leaving: handed over' : 'leaving');
      }
      following?.close('leaving');
      for (const channel of incoming) channel.close('leaving');
    },
  };
}

const dedupe = (targets: Target[]) => {
  const seen = new Map<string, Target>();
  for (const t of targets) {
    const key = t.deskId ?? `${t.addresses.join(',')}:${t.deskPort}`;
    const before = seen.get(key);
    seen.set(key, before ? { ...before, addresses: [...new Set([...before.addresses, ...t.addresses])] } : t);
  }
  return [...seen.values()];
};

export type Roles = ReturnType<typeof createRoles>;
