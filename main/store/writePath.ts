import type { Logger } from '../log.js';
import { StoreError, writeFailure } from './errors.js';
import type { StoreFiles } from './folder.js';
import type { JournalWriter } from './journal.js';
import { keyOf, type State } from './state.js';
import type { Change, StorageStatus } from './types.js';

export interface WritePathOptions {
  state: State;
  journal: JournalWriter;
  files: StoreFiles;
  log: Logger;
  /** Journal lines after which the snapshot is rewritten and the journal emptied. */
  compactEvery: number;
  /** Lines the journal holds already (a start whose snapshot could not be written keeps them). */
  journalLines: number;
  /** Writes the state as it is now into the snapshot, durably. */
  writeSnapshot(): Promise<void>;
  /** The revision of the last snapshot written. */
  snapshotRevision(): number;
  onStorage?(status: StorageStatus): void;
}

/** A change on its way to the disk: what the write path needs to know about it meanwhile. */
export interface Pending {
  version: string;
  alive: boolean;
  rev: number;
}

interface Batch {
  changes: Change[];
  lines: string[];
  growth: number;
  adds: Map<string, number>;
  resolve(changes: Change[]): void;
  reject(err: Error): void;
}

/**
 * The write path: group commits to the journal, and nothing else sees a change before it is on
 * disk. Queued changes wait in an overlay that only writers consult (a merge's version check);
 * `state`, and so every read, gets them once their journal write is synced. A failed write
 * drops its batch and everything queued behind it (their revisions and versions were counted
 * on it), cuts the journal back, and the next write tries the disk again.
 */
export function createWritePath(o: WritePathOptions) {
  const { state, journal, log, files } = o;
  const overlay = new Map<string, Pending>();
  const pendingAdds = new Map<string, number>();
  let pendingGrowth = 0;
  let nextRev = state.revision();
  let queued: Batch[] = [];
  let waiters: { revision: number; resolve(): void; reject(err: Error): void }[] = [];
  let flushing: Promise<void> | null = null;
  let journalLines = o.journalLines;
  let nextCompaction = o.compactEvery;
  let status: StorageStatus = { state: 'ok' };
  let closing: Promise<void> | null = null;

  const setStatus = (next: StorageStatus) => {
    if (next.state === status.state) return;
    status = next;
    o.onStorage?.(next);
  };
  const wake = () => {
    const ready = waiters.filter((w) => w.revision <= state.revision());
    waiters = waiters.filter((w) => w.revision > state.revision());
    for (const w of ready) w.resolve();
  };

  const dropQueued = (batch: Batch[], err: unknown) => {
    const failure = writeFailure(err);
    if (status.state === 'ok') log.error(`${files.journal}: ${failure.message}; refusing writes until the disk takes them again`);
    setStatus({ state: failure.kind === 'disk-full' ? 'disk-full' : 'failing', message: failure.message, since: Date.now() });
    const dropped = [...batch, ...queued];
    queued = [];
    overlay.clear();
    pendingAdds.clear();
    pendingGrowth = 0;
    nextRev = state.revision();
    for (const b of dropped) b.reject(failure);
    const stuck = waiters.filter((w) => w.revision > state.revision());
    waiters = waiters.filter((w) => w.revision <= state.revision());
    for (const w of stuck) w.reject(failure);
  };

  const applyDurable = (batch: Batch[], lines: string[]) => {
    let i = 0;
    for (const b of batch) {
      for (const change of b.changes) {
        state.apply(change, lines[i++]!.length + 1);
        const key = keyOf(change.entity, change.record.id);
        if (overlay.get(key)?.rev === change.rev) overlay.delete(key);
      }
      pendingGrowth -= b.growth;
      for (const [entity, n] of b.adds) pendingAdds.set(entity, (pendingAdds.get(entity) ?? 0) - n);
    }
    journalLines += lines.length;
  };

  /** Folds the journal into the snapshot; a failure only means the journal keeps growing until the next try. */
  const compact = async () => {
    try {
      await o.writeSnapshot();
      await journal.clear();
      journalLines = 0;
      nextCompaction = o.compactEvery;
    } catch (err) {
      nextCompaction = journalLines + Math.max(1, Math.ceil(o.compactEvery / 10));
      log.error(`could not fold ${files.journal} into ${files.snapshot} (${writeFailure(err).message}); the journal keeps every change`);
    }
  };

  // `flushing` is cleared in the same tick as the last look at `queued` (no await between),
  // so a commit that arrives while the loop winds down is never left without a flush.
  const flush = async () => {
    try {
      while (queued.length > 0) {
        const batch = queued;
        queued = [];
        const lines = batch.flatMap((b) => b.lines);
        try {
          await journal.append(lines);
        } catch (err) {
          dropQueued(batch, err);
          continue;
        }
        if (status.state !== 'ok') log.info(`${files.journal}: the disk takes writes again`);
        setStatus({ state: 'ok' });
        applyDurable(batch, lines);
        for (const b of batch) b.resolve(b.changes);
        wake();
        if (journalLines >= nextCompaction) await compact();
      }
    } finally {
      flushing = null;
    }
  };

  return {
    /** The revision the next queued change gets. */
    nextRevision: () => nextRev + 1,
    /** A record's version and whether it exists, counting changes still on their way to the disk. */
    pendingOf: (entity: string, id: string): Pending | undefined => overlay.get(keyOf(entity, id)),
    pendingAdds: (entity: string) => pendingAdds.get(entity) ?? 0,
    pendingGrowth: () => pendingGrowth,
    status: () => status,

    /** Queues changes numbered from `nextRevision()`, with their journal lines; resolves once durable. */
    enqueue(changes: Change[], lines: string[], growth: number, adds: Map<string, number>): Promise<Change[]> {
      if (closing) return Promise.reject(new StoreError('closed', 'the store is closed'));
      if (changes.length === 0) return Promise.resolve([]);
      for (const change of changes) {
        overlay.set(keyOf(change.entity, change.record.id), { version: change.hlc, alive: change.op !== 'delete', rev: change.rev });
      }
      nextRev = changes.at(-1)!.rev;
      pendingGrowth += growth;
      for (const [entity, n] of adds) pendingAdds.set(entity, (pendingAdds.get(entity) ?? 0) + n);
      return new Promise<Change[]>((resolve, reject) => {
        queued.push({ changes, lines, growth, adds, resolve, reject });
        flushing ??= flush();
      });
    },

    flushed(): Promise<void> {
      if (state.revision() >= nextRev) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ revision: nextRev, resolve, reject }));
    },

    /** Waits for queued writes, then folds the journal into the snapshot; if that fails, the journal keeps everything. */
    close(): Promise<void> {
      closing ??= (async () => {
        while (flushing) await flushing;
        try {
          if (state.revision() !== o.snapshotRevision()) await o.writeSnapshot();
          if (journal.length() > 0) await journal.clear();
        } catch (err) {
          log.error(
            `could not save ${files.snapshot} on the way out (${writeFailure(err).message}); ` +
              `${files.journal} keeps every acknowledged change and the next start replays it`,
          );
        }
        await journal.close();
      })();
      return closing;
    },
  };
}
