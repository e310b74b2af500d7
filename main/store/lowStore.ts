import { randomUUID } from 'node:crypto';
import { Low } from 'lowdb';
import type { Logger } from '../log.js';
import { durableJsonFile, mib } from './durableFile.js';
import { StoreError } from './errors.js';
import { loadFolder, removeLeftovers, storeFiles, type StoreFiles } from './folder.js';
import { createClock, formatStamp, parseStamp, type Clock } from './hlc.js';
import { openJournal } from './journal.js';
import { growthOf, keyOf, stateOf, type Snapshot, type State } from './state.js';
import { nodeFs, type StoreFs } from './storeFs.js';
import type { Change, ChangeRequest, ChangesAnswer, StateExport, StorageStatus, Store, VersionedChange } from './types.js';
import { createWritePath } from './writePath.js';

export interface LowStoreOptions {
  /** The folder that holds calendar.json (the lowdb snapshot) and changes.jsonl (its journal). */
  dir: string;
  log: Logger;
  /** How many recent changes `changesSince` can answer from. */
  changeLogLimit?: number;
  /** Journal lines after which the snapshot is rewritten and the journal emptied. */
  compactEvery?: number;
  /** The time new versions are stamped with: a desk passes its clock corrected to the host's. */
  now?: () => number;
  /** Records of one kind (events, tasks, …) a local write may bring the calendar to. */
  maxRecords?: number;
  /** About how large calendar.json may grow through local writes. */
  maxSnapshotBytes?: number;
  /** The file system; a test hands in one that fails on demand. */
  fs?: StoreFs;
  /** Told when writes start failing (a full disk) and when they succeed again. */
  onStorage?(status: StorageStatus): void;
}

/**
 * The limits of one calendar. 200,000 records of a kind is decades of a busy office's events
 * (50 people × 10 a week × 8 years) and still starts in about a second, hands over and
 * snapshots in well under one; 256 MiB of snapshot keeps calendar.json well inside what one
 * JavaScript string holds (512 MiB), which it is read and written as.
 */
export const storeLimits = {
  records: 200_000,
  snapshotBytes: 256 * 1024 * 1024,
  /** `changesSince` answers at most this many changes at a time… */
  pageChanges: 1000,
  /** …and about this many bytes of them (at least one change). */
  pageBytes: 512 * 1024,
  /** The change log keeps at most this many bytes of recent changes. */
  changeLogBytes: 16 * 1024 * 1024,
};

/** A version stamped further ahead than this of the clock is refused: it would win every conflict. */
export const MAX_STAMP_AHEAD_MS = 60_000;

/** A page of `exportPages` unless asked otherwise. */
const EXPORT_PAGE = 1000;

/**
 * The lowdb-backed store. Commits are appended to a journal in group commits (many concurrent
 * writers share one fsync) and applied in memory once durable, so reads only ever see what is
 * on disk. Every `compactEvery` lines the journal is folded into the lowdb snapshot, so the
 * cost of a write does not grow with the size of the calendar.
 */
export async function createLowStore(options: LowStoreOptions): Promise<Store> {
  const { log } = options;
  const fs = options.fs ?? nodeFs;
  const maxRecords = options.maxRecords ?? storeLimits.records;
  const maxSnapshotBytes = options.maxSnapshotBytes ?? storeLimits.snapshotBytes;
  const files = storeFiles(options.dir);
  await fs.mkdir(files.dir, { recursive: true });
  await removeLeftovers(files, fs);

  const { state, storeId, fresh, journal: read } = await openState(files, fs, options);
  const now = options.now ?? Date.now;
  const clock = createClock(storeId.slice(0, 8), now);
  const tooFarAhead = (hlc: string) => (parseStamp(hlc)?.wall ?? Infinity) > now() + MAX_STAMP_AHEAD_MS;
  const restamped = observeNewest(state, clock, tooFarAhead, log);

  const adapter = durableJsonFile<Snapshot | null>(files.snapshot, fs);
  const db = new Low<Snapshot | null>(adapter, null);
  let snapshotRevision = fresh ? -1 : read.snapshotRevision;
  const writeSnapshot = async () => {
    const at = state.snapshot(storeId);
    db.data = at;
    await db.write();
    state.written(at, adapter.bytes);
    snapshotRevision = at.revision;
  };
  // Fold whatever the journal held into a fresh snapshot. On a full disk the journal keeps it
  // instead; only a new store, whose id is not on disk yet, cannot start without one.
  let folded = false;
  if (fresh || read.lines > 0 || restamped > 0) {
    try {
      await writeSnapshot();
      folded = true;
    } catch (err) {
      if (fresh) throw err;
      log.warn(`could not fold ${files.journal} into ${files.snapshot} at start (${(err as Error).message}); the journal keeps every change`);
    }
  }
  const journal = await openJournal(files.journal, folded ? 0 : read.goodLength, fs);
  const writes = createWritePath({
    state,
    journal,
    files,
    log,
    compactEvery: options.compactEvery ?? 5000,
    journalLines: folded ? 0 : read.lines,
    writeSnapshot,
    snapshotRevision: () => snapshotRevision,
    onStorage: options.onStorage,
  });

  const commit = createCommit({ state, writes, clock, maxRecords, maxSnapshotBytes });
  const merge = (incoming: VersionedChange[]) => commit(newerVersions(incoming, { state, writes, tooFarAhead, log }), false);

  const exportPages = (pageSize = EXPORT_PAGE): StateExport => ({ storeId, ...state.exportAll(pageSize) });
  return {
    storeId,
    revision: () => state.revision(),
    list: (entity) => [...(state.collections.get(entity)?.values() ?? [])],
    get: (entity, id) => state.get(entity, id),
    commit: (requests) => commit(requests, true),
    merge,
    exportPages,
    collectTombstones: (before) => state.collectTombstones(formatStamp(before, 0, '')),
    flushed: () => writes.flushed(),
    changesSince(since, askedStoreId, page): ChangesAnswer {
      const current = state.revision();
      if ((askedStoreId && askedStoreId !== storeId) || since > current) {
        return { ok: false, revision: current, reason: 'unknown-store' };
      }
      const found = state.changesAfter(since, page?.changes ?? storeLimits.pageChanges, page?.bytes ?? storeLimits.pageBytes);
      if (!found) return { ok: false, revision: current, reason: 'too-old' };
      if (found.more) return { ok: true, revision: found.changes.at(-1)!.rev, changes: found.changes, more: true };
      return { ok: true, revision: current, changes: found.changes };
    },
    storage: () => writes.status(),
    close: () => writes.close(),
  };
}

type WritePath = ReturnType<typeof createWritePath>;

/**
 * Commits: numbers the requests after everything queued, stamps them, checks the limits (for
 * local writes: a desk's merge is never refused for them, so desks converge), and queues them.
 */
function createCommit(o: { state: State; writes: WritePath; clock: Clock; maxRecords: number; maxSnapshotBytes: number }) {
  const { state, writes, clock } = o;
  const checkRecordCount = (adds: Map<string, number>) => {
    for (const [entity, n] of adds) {
      if (state.count(entity) + writes.pendingAdds(entity) + n > o.maxRecords) {
        throw new StoreError('limit', `this calendar holds ${o.maxRecords.toLocaleString('en')} ${entity}, the most it keeps; delete some first`);
      }
    }
  };
  return (requests: ChangeRequest[], local: boolean): Promise<Change[]> => {
    try {
      const adds = new Map<string, number>();
      for (const r of requests) if (r.op === 'add') adds.set(r.entity, (adds.get(r.entity) ?? 0) + 1);
      if (local) checkRecordCount(adds);
      let rev = writes.nextRevision();
      const changes = requests.map((request): Change => {
        // A version from elsewhere (a merge) moves the clock past it; a local one came from the clock.
        if (request.hlc) clock.observe(request.hlc);
        return { ...request, rev: rev++, hlc: request.hlc ?? clock.tick() };
      });
      const lines = changes.map((c) => JSON.stringify(c));
      let growth = 0;
      for (const line of lines) growth += growthOf(line);
      const shrinks = changes.every((c) => c.op === 'delete');
      if (local && !shrinks && state.bytes() + writes.pendingGrowth() + growth > o.maxSnapshotBytes) {
        throw new StoreError('limit', `this calendar has reached its size limit of ${mib(o.maxSnapshotBytes)}; delete something first`);
      }
      return writes.enqueue(changes, lines, growth, adds);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/**
 * What a merge applies: within one batch only the latest version of each record, and only if it
 * beats the version held or still on its way to the disk. Versions stamped far ahead are refused.
 */
function newerVersions(
  incoming: VersionedChange[],
  o: { state: State; writes: WritePath; tooFarAhead: (hlc: string) => boolean; log: Logger },
): ChangeRequest[] {
  const newest = new Map<string, VersionedChange>();
  for (const change of incoming) {
    const key = keyOf(change.entity, change.record.id);
    const seen = newest.get(key);
    if (!seen || seen.hlc < change.hlc) newest.set(key, change);
  }
  const accepted: ChangeRequest[] = [];
  let refused = 0;
  for (const change of newest.values()) {
    if (o.tooFarAhead(change.hlc)) {
      refused++;
      continue;
    }
    const pending = o.writes.pendingOf(change.entity, change.record.id);
    const held = pending?.version ?? o.state.versionOf(change.entity, change.record.id);
    if (held !== undefined && held >= change.hlc) continue;
    const alive = pending?.alive ?? o.state.get(change.entity, change.record.id) !== undefined;
    const op = change.op === 'delete' ? 'delete' : alive ? 'update' : 'add';
    accepted.push({ entity: change.entity, op, record: change.record, hlc: change.hlc });
  }
  if (refused > 0) o.log.warn(`refused ${refused} changes stamped more than a minute ahead of this desk's clock`);
  return accepted;
}

/** The folder read into memory: the snapshot with the journal's later changes applied over it. */
async function openState(files: StoreFiles, fs: StoreFs, options: LowStoreOptions) {
  const loaded = await loadFolder(files, { fs, log: options.log, repair: true, maxSnapshotBytes: 2 * (options.maxSnapshotBytes ?? storeLimits.snapshotBytes) });
  const state = stateOf(loaded, { changeLogLimit: options.changeLogLimit ?? 5000, changeLogBytes: storeLimits.changeLogBytes });
  return {
    state,
    storeId: loaded.snapshot?.storeId ?? randomUUID(),
    fresh: !loaded.snapshot,
    journal: { snapshotRevision: loaded.snapshot?.revision ?? 0, lines: loaded.journal.changes.length, goodLength: loaded.journal.goodLength },
  };
}

/**
 * Moves the clock past every version held, so that this desk's next edit is later than any it
 * already has, even if the wall clock went back while it was off. A version from a clock far
 * ahead (kept by an earlier version of this app) would freeze its record and drag this clock
 * along: it is stamped anew, now, so that later edits can win again. Returns how many were.
 */
function observeNewest(state: State, clock: Clock, tooFarAhead: (hlc: string) => boolean, log: Logger): number {
  let newest = '';
  let restamped = 0;
  for (const byId of state.versions.values()) {
    for (const [id, hlc] of byId) {
      if (tooFarAhead(hlc)) {
        byId.set(id, clock.tick());
        restamped++;
      } else if (hlc > newest) newest = hlc;
    }
  }
  if (restamped > 0) log.warn(`${restamped} record versions were stamped more than a minute ahead of this clock; stamped them anew`);
  if (newest) clock.observe(newest);
  return restamped;
}
