import type { Change, VersionedChange } from '../store/types.js';
import { ChannelClosed, type Channel } from './channel.js';
import { formatStamp } from '../store/hlc.js';
import { bySize, checkIncoming, PAGE, versioned } from './changes.js';
import { keyOf, lastTogether, planRejoin } from './longAbsence.js';
import { statusHandler, type DeskContext, type ListedDesk, type Target } from './context.js';

/** A desk following a host: its pushes, the host's stream, and what the host says about the calendar. */
export interface Following {
  readonly channel: Channel;
  /** How far this replica reaches, in the host's revisions. */
  hostRevision(): number;
  /** The desks of the calendar as the host last listed them. */
  desks(): ListedDesk[];
  /** Sends changes made on this desk to the host; one that fails is healed by the next join. */
  push(changes: Change[]): void;
  /** Stops following without calling it a loss. */
  close(why: string): void;
}

export interface FollowingHooks {
  /** The host is gone (closed, or silent past the heartbeat), with the last list it shared. */
  lost(why: string, desks: ListedDesk[]): void;
  /** The host says: follow this desk from now on (it hands over, or gives way to another host). */
  moved(target: Target & { deskId: string }): void;
  /** The host asks this desk to take over; resolves once it hosts. */
  handover(): Promise<void>;
  /** The host hands on a new key. */
  rekey(key: string, keyGen: number): Promise<void>;
  /** The list of desks changed. */
  changed(): void;
  /** Back after a long absence: edits made meanwhile to records the other side deleted (titles). */
  lostEdits(titles: string[]): void;
}

/**
 * Joins the host on `channel`: asks to follow (from then on the host streams every change), hands
 * over this desk's whole state (whatever only this desk has, acknowledged while the host was away,
 * reaches everyone), then takes the host's. Merges keep the later version of each record, so the
 * order in which the stream, the push and the pull arrive does not matter.
 */
export async function follow(ctx: DeskContext, channel: Channel, hooks: FollowingHooks): Promise<Following> {
  const { log, timing } = ctx;
  const { mergeIn, merged, hostRevision } = hostMerges(ctx);
  let desks: ListedDesk[] = [];
  let stopped = false;
  let synced = false;
  // Tells the host how far this copy reaches, once a second at most, for its list of desks.
  let told = -1;
  const tellProgress = setInterval(() => {
    if (stopped || !synced || hostRevision() === told) return;
    told = hostRevision();
    channel.emit('at', { revision: told });
  }, 1000);

  channel.onEvent((event, data) => {
    const d = data as Record<string, unknown> | null;
    if (event === 'changes') {
      void mergeIn(d?.changes, Number(d?.rev) || 0);
    } else if (event === 'desks' && Array.isArray(d?.desks)) {
      desks = (d.desks as ListedDesk[]).slice(0, 500);
      ctx.book.note(desks);
      hooks.changed();
    } else if (event === 'moved' && typeof d?.deskId === 'string') {
      stopped = true;
      hooks.moved({ deskId: d.deskId, addresses: Array.isArray(d.addresses) ? (d.addresses as string[]) : [], deskPort: Number(d.deskPort) });
    }
  });
  channel.serve({
    ...statusHandler(ctx),
    async handover() {
      await merged();
      stopped = true;
      await hooks.handover();
      return { ok: true };
    },
    async rekey(args) {
      const { key, keyGen } = (args ?? {}) as { key?: unknown; keyGen?: unknown };
      if (typeof key !== 'string' || !Number.isSafeInteger(keyGen)) throw new Error('rekey needs a key and its generation');
      await hooks.rekey(key, keyGen as number);
      return { ok: true };
    },
  });
  channel.onClose((why) => {
    clearInterval(tellProgress);
    if (!stopped) hooks.lost(why, desks);
  });

  try {
    await join(ctx, channel, mergeIn, hooks);
    await merged();
    await channel.call('synced', {}, timing.handshakeMs);
    synced = true;
  } catch (err) {
    stopped = true;
    channel.close(err instanceof ChannelClosed ? 'lost while joining' : `join failed: ${(err as Error).message}`);
    throw err;
  }

  return {
    channel,
    hostRevision,
    desks: () => desks,
    push(changes) {
      if (stopped || changes.length === 0) return;
      // One change (a typical edit) is one part: no need to measure it.
      const parts = changes.length === 1 ? [[versioned(changes[0]!)]] : bySize(changes.map(versioned));
      for (const part of parts) {
        channel.call('push', { changes: part }, 30_000).catch((err) => {
          if (!stopped) log.warn(`could not send a change to the host yet (${(err as Error).message}); it goes with the next join`);
        });
      }
    },
    close(why) {
      stopped = true;
      channel.close(why);
    },
  };
}

/** Merges changes from the host, as taken; resolves once they are in the store. */
type MergeIn = (changes: unknown, revision: number) => Promise<unknown>;

/** The host's changes into this desk's store, checked, one batch after the other; and how far they reach, in the host's revisions. */
function hostMerges(ctx: DeskContext) {
  const { store, log, timing } = ctx;
  let hostRevision = 0;
  let merging: Promise<unknown> = Promise.resolve();
  const mergeIn: MergeIn = (raw, revision) => {
    let changes: VersionedChange[] = [];
    try {
      const checked = checkIncoming(raw, timing.now());
      changes = checked.changes;
      if (checked.refused.length > 0) log.warn(`refused ${checked.refused.length} changes from the host: ${checked.refused[0]}`);
    } catch (err) {
      log.warn(`refused changes from the host: ${(err as Error).message}`);
    }
    merging = merging
      .then(() => store.merge(changes))
      .then((applied) => {
        ctx.announce(applied);
        hostRevision = Math.max(hostRevision, revision);
      })
      .catch((err) => log.warn(`could not apply the host's changes: ${(err as Error).message}`));
    return merging;
  };
  return { mergeIn, merged: () => merging, hostRevision: () => hostRevision };
}

/**
 * The steps of a join, once the channel is served: the host's clock first, then asking to follow,
 * then this desk's state to the host and the host's to this desk (after a long absence, as
 * longAbsence.ts rules).
 */
async function join(ctx: DeskContext, channel: Channel, mergeIn: MergeIn, hooks: FollowingHooks): Promise<void> {
  const { store, log, timing } = ctx;
  // Until the host's time is known, this desk would stamp with its own clock (which may be
  // minutes off, and a stamp is never taken back) and refuse the host's changes as "ahead".
  if (!(await channel.clockKnown(timing.handshakeMs))) log.warn(`the host's clock did not answer within ${timing.handshakeMs} ms: joining on this desk's own time`);
  const answer = (await channel.call('follow', {}, timing.handshakeMs)) as { revision: number };
  const pull = async (take: MergeIn) => {
    for (let from: number | null = 0; from !== null; ) {
      const page = (await channel.call('pullState', { from }, 30_000)) as { changes: unknown; next: number | null; revision: number };
      await take(page.changes, from === 0 ? Math.max(answer.revision, page.revision) : page.revision);
      from = page.next;
    }
  };
  const since = lastTogether(ctx.book.inSyncAt(), channel.peer.inSyncAt, timing.keepDeletionsMs);
  if (since === null) {
    // Tombstones cover the time apart: hand over everything, take everything, the later version wins.
    for (const page of store.exportPages(PAGE).pages) for (const part of bySize(page)) await channel.call('push', { changes: part }, 30_000);
    await pull(mergeIn);
  } else {
    await rejoin(ctx, channel, since, pull, mergeIn, hooks);
  }
}

/** After longer apart than tombstones are kept: the host's state is read first, then each side keeps what it should. */
async function rejoin(ctx: DeskContext, channel: Channel, since: number, pull: (take: MergeIn) => Promise<void>, mergeIn: MergeIn, hooks: FollowingHooks) {
  const { store, log, timing } = ctx;
  const theirs = new Map<string, VersionedChange>();
  let revision = 0;
  await pull(async (raw, rev) => {
    for (const c of checkIncoming(raw, timing.now()).changes) theirs.set(keyOf(c), c);
    revision = rev;
  });
  let n = 0;
  const plan = planRejoin(store, theirs, since, () => formatStamp(timing.now(), n++, `gone-${ctx.me.cert.deskId.slice(0, 8)}`));
  log.info(`back after ${Math.round((Date.now() - since) / 86_400_000)} days apart: keeping ${plan.push.length} changes made meanwhile, forgetting ${plan.forget.length} records deleted meanwhile`);
  if (plan.forget.length > 0) ctx.announce(await store.commit(plan.forget));
  const deleted = new Set(plan.push.filter((c) => c.op === 'delete').map(keyOf));
  const taken = [...theirs].filter(([key]) => !deleted.has(key)).map(([, c]) => c);
  for (let i = 0; i < taken.length; i += PAGE) await mergeIn(taken.slice(i, i + PAGE), revision);
  for (let i = 0; i < plan.push.length; i += PAGE) for (const part of bySize(plan.push.slice(i, i + PAGE))) await channel.call('push', { changes: part }, 30_000);
  if (plan.lost.length > 0) hooks.lostEdits(plan.lost);
}
