import type { LoadedFolder } from './folder.js';
import type { Change, StateExport, StoredRecord, VersionedChange } from './types.js';

/** What calendar.json holds. */
export interface Snapshot {
  format: 1;
  storeId: string;
  revision: number;
  collections: Record<string, StoredRecord[]>;
  /** The version of every record, and of every deleted one (its tombstone). */
  versions: Record<string, Record<string, string>>;
  log: Change[];
}

export interface StateLimits {
  /** Changes the log keeps for `changesSince`. */
  changeLogLimit: number;
  /** Bytes of changes the log keeps: a few huge records must not make the snapshot huge. */
  changeLogBytes: number;
}

export type State = ReturnType<typeof createState>;

/** One record's key across entities: a map key for the write path, a merge and a backup. */
export const keyOf = (entity: string, id: string) => `${entity}\u0000${id}`;

const versionBytes = (id: string, hlc: string) => id.length + hlc.length + 6;

/**
 * The bytes a change's record takes in a snapshot (its JSON and a comma), from the size of the
 * change's journal line (its JSON and a newline): the line is the record inside
 * `{"entity":…,"op":…,"record":…,"rev":…,"hlc":…}`, 47 characters of keys and punctuation around
 * four short values, so the record need not be stringified again.
 */
const recordBytesOf = (change: Change, lineSize: number) =>
  lineSize - 47 - String(change.rev).length - change.entity.length - change.op.length - change.hlc.length;

/**
 * About what one change adds to a snapshot (its record, its place in the log, its version), from
 * its journal line, before it is applied: what local writes are held to the size limit with while
 * they wait for the disk. Generous on purpose; `apply` counts what they did add.
 */
export const growthOf = (line: string) => 2 * line.length + 80;

/**
 * The store's durable state in memory: records, versions, the recent change log, and a running
 * estimate of the bytes they take in a snapshot (exact after each snapshot, close between).
 * Records are never mutated in place, so a shallow copy of the maps is a consistent picture.
 */
export function createState(snapshot: Snapshot | null, snapshotBytes: number, limits: StateLimits) {
  const collections = new Map<string, Map<string, StoredRecord>>();
  for (const [entity, records] of Object.entries(snapshot?.collections ?? {})) {
    collections.set(entity, new Map(records.map((r) => [r.id, r])));
  }
  const versions = new Map<string, Map<string, string>>();
  for (const [entity, byId] of Object.entries(snapshot?.versions ?? {})) versions.set(entity, new Map(Object.entries(byId)));
  let log: Change[] = snapshot?.log ?? [];
  let logSizes = log.map((c) => JSON.stringify(c).length + 1);
  let logBytes = logSizes.reduce((a, b) => a + b, 0);
  let revision = snapshot?.revision ?? 0;
  let bytes = snapshotBytes;
  let keptLogBytes = 0;
  // Records are never mutated, so a record's size is known from the change that brought it.
  const recordSizes = new WeakMap<StoredRecord, number>();
  const recordBytes = (record: StoredRecord | undefined) => {
    if (!record) return 0;
    let size = recordSizes.get(record);
    // Only a record read from the snapshot has none yet.
    if (size === undefined) recordSizes.set(record, (size = JSON.stringify(record).length + 1));
    return size;
  };

  const collection = (entity: string) => {
    let records = collections.get(entity);
    if (!records) collections.set(entity, (records = new Map()));
    return records;
  };
  /** Where the part of the log that a snapshot keeps begins: both limits hold from there. */
  const logStart = () => {
    let start = Math.max(0, log.length - limits.changeLogLimit);
    let kept = 0;
    for (let i = log.length - 1; i >= start; i--) {
      kept += logSizes[i]!;
      if (kept > limits.changeLogBytes && i < log.length - 1) {
        start = i + 1;
        break;
      }
    }
    return start;
  };

  return {
    collections,
    versions,
    revision: () => revision,
    /** Bytes a snapshot of this state would take, about. */
    bytes: () => bytes,
    count: (entity: string) => collections.get(entity)?.size ?? 0,
    get: (entity: string, id: string) => collections.get(entity)?.get(id),
    versionOf: (entity: string, id: string) => versions.get(entity)?.get(id),
    /**
     * Forgets the tombstones (versions of deleted records) stamped before `before`: every desk
     * seen since has them. Not a change: the snapshot written next leaves them out.
     */
    collectTombstones(before: string): number {
      let collected = 0;
      for (const [entity, byId] of versions) {
        const records = collections.get(entity);
        for (const [id, hlc] of byId) {
          if (hlc >= before || records?.has(id)) continue;
          byId.delete(id);
          bytes -= versionBytes(id, hlc);
          collected++;
        }
      }
      return collected;
    },
    /** Applies one durable change; `size` is its journal line's length with the newline (its JSON's, unframed). */
    apply(change: Change, size: number) {
      const records = collection(change.entity);
      bytes -= recordBytes(records.get(change.record.id));
      if (change.op === 'delete') records.delete(change.record.id);
      else {
        const added = recordBytesOf(change, size);
        recordSizes.set(change.record, added);
        records.set(change.record.id, change.record);
        bytes += added;
      }
      let byId = versions.get(change.entity);
      if (!byId) versions.set(change.entity, (byId = new Map()));
      const held = byId.get(change.record.id);
      bytes += versionBytes(change.record.id, change.hlc) - (held === undefined ? 0 : versionBytes(change.record.id, held));
      byId.set(change.record.id, change.hlc);
      log.push(change);
      logSizes.push(size);
      logBytes += size;
      bytes += size;
      revision = change.rev;
      if (log.length > 2 * limits.changeLogLimit || logBytes > 2 * limits.changeLogBytes) {
        const start = logStart();
        const dropped = logSizes.slice(0, start).reduce((a, b) => a + b, 0);
        log = log.slice(start);
        logSizes = logSizes.slice(start);
        logBytes -= dropped;
        bytes -= dropped;
      }
    },
    /** The snapshot of this state; its arrays stay a consistent picture while it is written. */
    snapshot(storeId: string): Snapshot {
      const start = logStart();
      keptLogBytes = logSizes.slice(start).reduce((a, b) => a + b, 0);
      return {
        format: 1,
        storeId,
        revision,
        collections: Object.fromEntries([...collections].map(([name, records]) => [name, [...records.values()]])),
        versions: Object.fromEntries([...versions].map(([name, byId]) => [name, Object.fromEntries(byId)])),
        log: log.slice(start),
      };
    },
    /** After a snapshot was written: its exact size, and how much of the log it kept. */
    written(at: Snapshot, size: number) {
      if (at.revision === revision) bytes = size + logBytes - keptLogBytes;
    },
    /** Changes after `since`, at most `max` of them and about `maxBytes`, but always one if there is one. */
    changesAfter(since: number, max: number, maxBytes: number): { changes: Change[]; more: boolean } | null {
      const first = log[0]?.rev ?? revision + 1;
      if (since < first - 1) return null;
      // Revisions in the log are consecutive, so the position is arithmetic.
      const from = since - first + 1;
      let to = Math.min(log.length, from + max);
      let size = 0;
      for (let i = from; i < to; i++) {
        size += logSizes[i]!;
        if (size > maxBytes && i > from) {
          to = i;
          break;
        }
      }
      return { changes: log.slice(from, to), more: to < log.length };
    },
    /**
     * A copy of every record and version as of now (the maps are copied, the records shared),
     * read out lazily in pages, so a large calendar is never one array of changes.
     */
    exportAll(pageSize: number): Omit<StateExport, 'storeId'> {
      const copies = [...versions].map(([entity, byId]) => ({ entity, byId: new Map(byId), records: new Map(collections.get(entity)) }));
      const count = copies.reduce((n, c) => n + c.byId.size, 0);
      function* pages(): Generator<VersionedChange[]> {
        let page: VersionedChange[] = [];
        for (const { entity, byId, records } of copies) {
          for (const [id, hlc] of byId) {
            const record = records.get(id);
            page.push(record ? { entity, op: 'update', record, hlc } : { entity, op: 'delete', record: { id }, hlc });
            if (page.length >= pageSize) {
              yield page;
              page = [];
            }
          }
        }
        if (page.length > 0) yield page;
      }
      return { revision, count, pages: { [Symbol.iterator]: pages } };
    },
  };
}

/** The state of a data folder as read: its snapshot with the journal's later changes applied over it. */
export function stateOf(loaded: LoadedFolder, limits: StateLimits): State {
  const state = createState(loaded.snapshot, loaded.snapshotBytes, limits);
  const { changes, sizes } = loaded.journal;
  for (let i = 0; i < changes.length; i++) {
    if (changes[i]!.rev > state.revision()) state.apply(changes[i]!, sizes[i]!);
  }
  return state;
}
