import { join } from 'node:path';
import type { Logger } from '../log.js';
import { durableJsonFile, setAside } from './durableFile.js';
import { StoreError } from './errors.js';
import { readJournal, type JournalRead } from './journal.js';
import type { Snapshot } from './state.js';
import { errorCode, type StoreFs } from './storeFs.js';

export const SNAPSHOT = 'calendar.json';
export const JOURNAL = 'changes.jsonl';

/** The files of one store's data folder. */
export interface StoreFiles {
  dir: string;
  snapshot: string;
  journal: string;
}

export const storeFiles = (dir: string): StoreFiles => ({ dir, snapshot: join(dir, SNAPSHOT), journal: join(dir, JOURNAL) });

export interface LoadedFolder {
  snapshot: Snapshot | null;
  /** The snapshot file's size. */
  snapshotBytes: number;
  /** The journal's good lines; those at or below the snapshot's revision were folded into it already. */
  journal: JournalRead;
}

/**
 * Reads a data folder: the snapshot, then the journal over it. When `repair` is on (a store
 * starting), a snapshot that does not parse is set aside and the store starts without it,
 * and a damaged journal is set aside and the start refused; both only once the set-aside is
 * verified. Without `repair` (a backup of a folder) nothing is touched: damage is an error.
 */
export async function loadFolder(files: StoreFiles, o: { fs: StoreFs; log: Logger; repair: boolean; maxSnapshotBytes: number }): Promise<LoadedFolder> {
  const { fs, log, repair } = o;
  const adapter = durableJsonFile<unknown>(files.snapshot, fs, o.maxSnapshotBytes);
  let snapshot: Snapshot | null = null;
  const unusable = async (why: string) => {
    if (!repair) throw new StoreError('damaged', `${files.snapshot} ${why}`);
    const aside = await setAside(files.snapshot, 'unreadable', fs);
    log.error(`${files.snapshot} ${why}; moved it to ${aside} and left it untouched`);
  };
  try {
    const data = await adapter.read();
    if (data !== null && isSnapshot(data)) snapshot = data;
    else if (data !== null) await unusable('is not a LAN Scheduler calendar');
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    await unusable(`does not parse (${err.message})`);
  }

  let journal = await readJournal(files.journal, fs);
  const at = snapshot?.revision ?? 0;
  const next = journal.changes.findIndex((c) => c.rev > at);
  if (!journal.damaged && next >= 0 && journal.changes[next]!.rev !== at + 1 && snapshot) {
    journal = { ...journal, damaged: { line: next + 1, why: `revision ${journal.changes[next]!.rev} follows calendar.json's revision ${at}` } };
  }
  if (journal.damaged) {
    const where = `${files.journal} is damaged at line ${journal.damaged.line} (${journal.damaged.why})`;
    if (!repair) throw new StoreError('damaged', where);
    const aside = await setAside(files.journal, 'damaged', fs);
    throw new StoreError(
      'damaged',
      `${where}; moved it to ${aside} untouched, with every line in it. The calendar did not start: a start now would ` +
        `begin from ${files.snapshot} alone (revision ${at}), without the changes in that file.`,
    );
  }
  if (!snapshot && journal.changes.length > 0) {
    // A journal without its snapshot cannot be replayed safely: keep it for a person to look at.
    if (!repair) throw new StoreError('damaged', `${files.journal} has no ${SNAPSHOT} to apply to`);
    const aside = await setAside(files.journal, 'unreadable', fs);
    log.error(`${files.journal} has no snapshot to apply to; moved it to ${aside} and left it untouched`);
    journal = { changes: [], sizes: [], goodLength: 0, tornTail: false };
  }
  if (journal.tornTail && repair) log.warn(`${files.journal} ended in a torn write (never acknowledged); dropped it`);
  return { snapshot, snapshotBytes: adapter.bytes, journal };
}

/** Temp files of snapshots a crash or a full disk left behind: they only take space. */
export async function removeLeftovers(files: StoreFiles, fs: StoreFs): Promise<void> {
  const names = await fs.readdir(files.dir);
  for (const name of names) {
    if (name === `${SNAPSHOT}.tmp` || name.startsWith(`${SNAPSHOT}.tmp-`)) {
      await fs.unlink(join(files.dir, name)).catch((err) => {
        if (errorCode(err) !== 'ENOENT') throw err;
      });
    }
  }
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
