/** A stored record: always a flat JSON object with a string id. */
export type StoredRecord = { id: string } & Record<string, unknown>;

export type ChangeOp = 'add' | 'update' | 'delete';

/** One committed change. `rev` grows by one per change, for the life of the store. */
export interface Change {
  rev: number;
  entity: string;
  op: ChangeOp;
  /** The whole record after the change; for a delete, the record as it was (or just its id). */
  record: StoredRecord;
  /** The record's version: a hybrid-logical-clock stamp. The later stamp wins a merge. */
  hlc: string;
}

/** What a caller asks for; the store assigns the revision, and the version unless given. */
export type ChangeRequest = Omit<Change, 'rev' | 'hlc'> & { hlc?: string };

/** A change as desks exchange it: no local revision, always a version. */
export type VersionedChange = Omit<Change, 'rev'>;

/**
 * One page of changes. With `more`, there are later ones: `revision` is then the last change's,
 * and the caller asks again from there.
 */
export type ChangesAnswer =
  | { ok: true; revision: number; changes: Change[]; more?: true }
  | { ok: false; revision: number; reason: 'too-old' | 'unknown-store' };

/** How large one page of `changesSince` may be; the store's defaults are 1,000 changes and 512 KiB. */
export interface ChangePage {
  changes?: number;
  bytes?: number;
}

/** A point-in-time copy of every record and tombstone, read out in pages (see `exportPages`). */
export interface StateExport {
  storeId: string;
  revision: number;
  /** Records and tombstones in it. */
  count: number;
  /** Can be iterated once or more; each page is an array of at most the page size. */
  pages: Iterable<VersionedChange[]>;
}

/** Whether the disk takes writes: `ok`, or what went wrong with the last one (cleared by the next that succeeds). */
export type StorageStatus = { state: 'ok' } | { state: 'disk-full' | 'failing'; message: string; since: number };

/**
 * The storage the live server receives. A replica or another engine can stand in,
 * as long as commits are applied in order and resolve only once durable. Reads (`list`,
 * `get`, `revision`, `changesSince`, exports) see only what is on disk: a write that fails
 * leaves no trace. Failures are `StoreError`s (./errors.ts).
 */
export interface Store {
  readonly storeId: string;
  revision(): number;
  list(entity: string): StoredRecord[];
  get(entity: string, id: string): StoredRecord | undefined;
  /** Applies the changes in order once they are on disk, then resolves; reads see them from then on. */
  commit(requests: ChangeRequest[]): Promise<Change[]>;
  /**
   * Applies changes from another desk, each only if its version is later than the one held
   * (last writer wins per record; deletes are kept as versioned tombstones). Resolves with
   * the changes that were applied, once durable.
   */
  merge(changes: VersionedChange[]): Promise<Change[]>;
  /**
   * Every record and tombstone with its version (what a desk hands over when it (re)joins), as of
   * this call, handed out in pages of `pageSize` as they are read: a large calendar is never one
   * array. Cheap to take (the maps are copied, not the records).
   */
  exportPages(pageSize?: number): StateExport;
  /**
   * Forgets the tombstones stamped before `before` (ms since the epoch), once every desk seen since
   * has them; the next snapshot leaves them out. Returns how many were forgotten.
   */
  collectTombstones(before: number): number;
  /** Resolves once every change committed so far is on disk; rejects if it never will be. */
  flushed(): Promise<void>;
  /** One page of the changes after `since`, or why the caller must reload everything. */
  changesSince(since: number, storeId?: string, page?: ChangePage): ChangesAnswer;
  /** Whether the last write reached the disk. */
  storage(): StorageStatus;
  close(): Promise<void>;
}
