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

export type ChangesAnswer =
  | { ok: true; revision: number; changes: Change[] }
  | { ok: false; revision: number; reason: 'too-old' | 'unknown-store' };

/**
 * The storage the live server receives. A replica or another engine can stand in,
 * as long as commits are applied in order and resolve only once durable.
 */
export interface Store {
  readonly storeId: string;
  revision(): number;
  list(entity: string): StoredRecord[];
  get(entity: string, id: string): StoredRecord | undefined;
  /** Applies the changes in order and resolves once they are on disk. */
  commit(requests: ChangeRequest[]): Promise<Change[]>;
  /**
   * Applies changes from another desk, each only if its version is later than the one held
   * (last writer wins per record; deletes are kept as versioned tombstones). Resolves with
   * the changes that were applied, once durable.
   */
  merge(changes: VersionedChange[]): Promise<Change[]>;
  /** Every record and tombstone with its version: what a desk hands over when it (re)joins. */
  exportState(): VersionedChange[];
  /** Resolves once every change applied so far is on disk (for answers that depend on them). */
  flushed(): Promise<void>;
  /** Changes after `since`, or why the caller must reload everything. */
  changesSince(since: number, storeId?: string): ChangesAnswer;
  close(): Promise<void>;
}
