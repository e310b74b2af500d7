import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { durableJsonFile } from './durableFile.js';
import { createClock, parseStamp } from './hlc.js';
import { openJournal, readJournal, type JournalWriter } from './journal.js';
import type { Change, ChangeRequest, ChangesAnswer, Store, StoredRecord, VersionedChange } from './types.js';
import type { Logger } from '../log.js';

interface Snapshot {
  format: 1;
  storeId: string;
  revision: number;
  collections: Record<string, StoredRecord[]>;
  /** The version of every record, and of every deleted one (its tombstone). */
  versions: Record<string, Record<string, string>>;
  log: Change[];
}

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
}

/** A version stamped further ahead than this of the clock is refused: it would win every conflict. */
export const MAX_STAMP_AHEAD_MS = 60_000;

const SNAPSHOT = 'calendar.json';
const JOURNAL = 'changes.jsonl';

/**
 * The lowdb-backed store. Commits are applied in memory at once, appended to a journal
 * in group commits (many concurrent writers share one fsync), and resolve once durable.
 * Every `compactEvery` lines the journal is folded into the lowdb snapshot, so the cost
 * of a write does not grow with the size of the calendar.
 */
export async function createLowStore(options: LowStoreOptions): Promise<Store> {
  const { dir, log } = options;
  const changeLogLimit = options.changeLogLimit ?? 5000;
  const compactEvery = options.compactEvery ?? 5000;
  await mkdir(dir, { recursive: true });
  const snapshotFile = join(dir, SNAPSHOT);
  const journalFile = join(dir, JOURNAL);
  const db = new Low<Snapshot | null>(durableJsonFile(snapshotFile), null);

  const setAside = async (file: string, why: string) => {
    const aside = `${file}.unreadable-${Date.now()}`;
    await rename(file, aside).catch(() => undefined);
    log.error(`${file} ${why}; moved it to ${aside} and left it untouched`);
  };

  let snapshot: Snapshot | null = null;
  try {
    await db.read();
    snapshot = isSnapshot(db.data) ? db.data : null;
    if (db.data !== null && !snapshot) await setAside(snapshotFile, 'is not a LAN Scheduler calendar');
  } catch (err) {
    await setAside(snapshotFile, `does not parse (${(err as Error).message})`);
  }
  let journal = await readJournal(journalFile);
  if (!snapshot && journal.changes.length > 0) {
    // A journal without its snapshot cannot be replayed safely: keep it for a person to look at.
    await setAside(journalFile, 'has no snapshot to apply to');
    journal = { changes: [], tornTail: false };
  }
  if (journal.damagedAt) {
    log.error(`${journalFile} is damaged at line ${journal.damagedAt}; using the ${journal.changes.length} changes before it`);
  }
  if (journal.tornTail) log.warn(`${journalFile} ended in a torn write (never acknowledged); dropped it`);

  const storeId = snapshot?.storeId ?? randomUUID();
  const collections = new Map<string, Map<string, StoredRecord>>();
  for (const [entity, records] of Object.entries(snapshot?.collections ?? {})) {
    collections.set(entity, new Map(records.map((r) => [r.id, r])));
  }
  const versions = new Map<string, Map<string, string>>();
  for (const [entity, byId] of Object.entries(snapshot?.versions ?? {})) versions.set(entity, new Map(Object.entries(byId)));
  let changeLog: Change[] = snapshot?.log ?? [];
  let revision = snapshot?.revision ?? 0;
  const now = options.now ?? Date.now;
  const clock = createClock(storeId.slice(0, 8), now);
  const tooFarAhead = (hlc: string) => (parseStamp(hlc)?.wall ?? Infinity) > now() + MAX_STAMP_AHEAD_MS;
  const versionOf = (entity: string, id: string) => versions.get(entity)?.get(id);

  const collection = (entity: string) => {
    let records = collections.get(entity);
    if (!records) collections.set(entity, (records = new Map()));
    return records;
  };
  const applyChange = (change: Change) => {
    const records = collection(change.entity);
    if (change.op === 'delete') records.delete(change.record.id);
    else records.set(change.record.id, change.record);
    let byId = versions.get(change.entity);
    if (!byId) versions.set(change.entity, (byId = new Map()));
    byId.set(change.record.id, change.hlc);
    changeLog.push(change);
    if (changeLog.length > 2 * changeLogLimit) changeLog = changeLog.slice(-changeLogLimit);
    revision = change.rev;
  };
  for (const change of journal.changes) {
    if (change.rev <= revision) continue; // already folded into the snapshot
    if (change.rev !== revision + 1) {
      log.error(`${journalFile} skips from revision ${revision} to ${change.rev}; ignoring the rest`);
      break;
    }
    applyChange(change);
  }
  let durableRevision = revision;
  // Past every version held, so that this desk's next edit is later than any it already has,
  // even if the wall clock went back while it was off.
  // A version from a clock far ahead (kept by an earlier version of this app) would freeze its record
  // and drag this clock along: it is stamped anew, now, so that later edits can win again.
  let newest = '';
  let restamped = 0;
  for (const byId of versions.values()) {
    for (const [id, hlc] of byId) {
      if (tooFarAhead(hlc)) {
        byId.set(id, clock.tick());
        restamped++;
      } else if (hlc > newest) newest = hlc;
    }
  }
  if (restamped > 0) log.warn(`${restamped} record versions were stamped more than a minute ahead of this clock; stamped them anew`);
  if (newest) clock.observe(newest);

  // Records are never mutated in place, so arrays taken now stay a consistent picture
  // at `at` while the file is written, even as later commits replace map entries.
  const writeSnapshot = async () => {
    const at = revision;
    db.data = {
      format: 1,
      storeId,
      revision: at,
      collections: Object.fromEntries([...collections].map(([name, records]) => [name, [...records.values()]])),
      versions: Object.fromEntries([...versions].map(([name, byId]) => [name, Object.fromEntries(byId)])),
      log: changeLog.slice(-changeLogLimit),
    };
    await db.write();
    durableRevision = Math.max(durableRevision, at);
  };
  // Fold whatever the journal held into a fresh snapshot, which also cuts off a torn tail.
  await writeSnapshot();
  const writer: JournalWriter = await openJournal(journalFile);
  await writer.clear();

  let pending: { changes: Change[]; resolve: (c: Change[]) => void; reject: (e: Error) => void }[] = [];
  let waiters: { revision: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const wake = () => {
    const ready = waiters.filter((w) => w.revision <= durableRevision);
    waiters = waiters.filter((w) => w.revision > durableRevision);
    for (const w of ready) w.resolve();
  };
  let flushing: Promise<void> | null = null;
  let journalLines = 0;
  let failure: Error | null = null;
  let closing: Promise<void> | null = null;

  // `flushing` is cleared in the same tick as the last look at `pending` (no await between),
  // so a commit that arrives while the loop winds down is never left without a flush.
  const flush = async () => {
    try {
      while (pending.length > 0) {
        const batch = pending;
        pending = [];
        const changes = batch.flatMap((b) => b.changes);
        try {
          await writer.append(changes);
          durableRevision = Math.max(durableRevision, changes.at(-1)!.rev);
          journalLines += changes.length;
          for (const b of batch) b.resolve(b.changes);
          wake();
          if (journalLines >= compactEvery) {
            await writeSnapshot();
            await writer.clear();
            journalLines = 0;
          }
        } catch (err) {
          // Memory is now ahead of the disk: refuse further writes rather than acknowledge more.
          failure = new Error(`storage failed: ${(err as Error).message}`);
          log.error(failure.message);
          for (const b of [...batch, ...pending, ...waiters]) b.reject(failure);
          pending = [];
          waiters = [];
        }
      }
    } finally {
      flushing = null;
    }
  };

  const commit = (requests: ChangeRequest[]): Promise<Change[]> => {
    if (failure) return Promise.reject(failure);
    if (closing) return Promise.reject(new Error('store is closed'));
    if (requests.length === 0) return Promise.resolve([]);
    const changes = requests.map((request) => {
      // A version from elsewhere (a merge) moves the clock past it; a local one came from the clock.
      if (request.hlc) clock.observe(request.hlc);
      const change: Change = { ...request, rev: revision + 1, hlc: request.hlc ?? clock.tick() };
      applyChange(change);
      return change;
    });
    return new Promise<Change[]>((resolve, reject) => {
      pending.push({ changes, resolve, reject });
      flushing ??= flush();
    });
  };

  return {
    storeId,
    revision: () => durableRevision,
    list: (entity) => [...(collections.get(entity)?.values() ?? [])],
    get: (entity, id) => collections.get(entity)?.get(id),
    commit,
    merge(incoming) {
      const accepted: ChangeRequest[] = [];
      const newest = new Map<string, VersionedChange>();
      // Within one batch, only the latest version of each record counts.
      for (const change of incoming) {
        const key = `${change.entity}\u0000${change.record.id}`;
        const seen = newest.get(key);
        if (!seen || seen.hlc < change.hlc) newest.set(key, change);
      }
      let refused = 0;
      for (const change of newest.values()) {
        if (tooFarAhead(change.hlc)) {
          refused++;
          continue;
        }
        const held = versionOf(change.entity, change.record.id);
        if (held !== undefined && held >= change.hlc) continue;
        const alive = collections.get(change.entity)?.has(change.record.id) ?? false;
        const op = change.op === 'delete' ? 'delete' : alive ? 'update' : 'add';
        accepted.push({ entity: change.entity, op, record: change.record, hlc: change.hlc });
      }
      if (refused > 0) log.warn(`refused ${refused} changes stamped more than a minute ahead of this desk's clock`);
      return commit(accepted);
    },
    exportState() {
      const out: VersionedChange[] = [];
      for (const [entity, byId] of versions) {
        const records = collections.get(entity);
        for (const [id, hlc] of byId) {
          const record = records?.get(id);
          out.push(record ? { entity, op: 'update', record, hlc } : { entity, op: 'delete', record: { id }, hlc });
        }
      }
      return out;
    },
    flushed() {
      if (failure) return Promise.reject(failure);
      if (durableRevision >= revision) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ revision, resolve, reject }));
    },
    changesSince(since, askedStoreId): ChangesAnswer {
      const current = durableRevision;
      if ((askedStoreId && askedStoreId !== storeId) || since > current) {
        return { ok: false, revision: current, reason: 'unknown-store' };
      }
      const first = changeLog[0]?.rev ?? current + 1;
      if (since < first - 1) return { ok: false, revision: current, reason: 'too-old' };
      // Revisions in the log are consecutive, so the position is arithmetic.
      const changes = changeLog.slice(since - first + 1, current - first + 1);
      return { ok: true, revision: current, changes };
    },
    close() {
      closing ??= (async () => {
        while (flushing) await flushing;
        if (!failure) await writeSnapshot();
        await writer.clear();
        await writer.close();
      })();
      return closing;
    },
  };
}

function isSnapshot(data: unknown): data is Snapshot {
  const s = data as Snapshot | null;
  return (
    !!s &&
    s.format === 1 &&
    typeof s.storeId === 'string' &&
    Number.isInteger(s.revision) &&
    typeof s.collections === 'object' &&
    Array.isArray(s.log) &&
    typeof s.versions === 'object'
  );
}
