import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import { writeFileAtomic } from './durableFile.js';
import { loadFolder, storeFiles, type LoadedFolder } from './folder.js';
import { parseStamp } from './hlc.js';
import { LineTooLong, readLines } from './lines.js';
import { createLowStore, storeLimits } from './lowStore.js';
import { keyOf, stateOf, type Snapshot } from './state.js';
import { errorCode, nodeFs, type StoreFs } from './storeFs.js';
import type { StateExport, Store, StoredRecord, VersionedChange } from './types.js';

/**
 * A backup is one JSON-lines file: a header that says what it is, every record and tombstone
 * with its version (one a line), and a trailer with the count, so a cut-off copy is refused.
 */
const FORMAT = 'lan-scheduler-backup';
const VERSION = 1;
/** No record comes near this: a longer line means the file is something else. */
const MAX_LINE = 16 * 1024 * 1024;

interface Header {
  format: typeof FORMAT;
  version: typeof VERSION;
  storeId: string;
  revision: number;
  records: number;
  createdAt: string;
}

export interface BackupInfo {
  file: string;
  /** The store it was taken from, and the revision it is a copy of. */
  storeId: string;
  revision: number;
  /** Records and tombstones in it. */
  records: number;
}

export class BackupError extends Error {
  override name = 'BackupError';
}

/**
 * Writes a consistent copy of a running store to `file`: everything on disk at the moment of
 * the call, while writes go on. One file, written aside, synced and renamed (mode 600).
 */
export async function writeBackup(store: Store, file: string, options: { fs?: StoreFs } = {}): Promise<BackupInfo> {
  return writeExport(store.exportPages(), file, options.fs ?? nodeFs);
}

/**
 * Backs up a data folder without starting a store on it: reads the snapshot and the journal,
 * touches nothing. A host running on the folder meanwhile is fine: if it rewrites its snapshot
 * while the folder is read, the read starts over.
 */
export async function backupDataDir(dataDir: string, file: string, options: { fs?: StoreFs } = {}): Promise<BackupInfo> {
  const fs = options.fs ?? nodeFs;
  const files = storeFiles(dataDir);
  const identity = async () => {
    const s = await fs.stat(files.snapshot).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') throw new BackupError(`${dataDir} holds no calendar (no calendar.json)`);
      throw err;
    });
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await identity();
    let loaded: LoadedFolder | null = null;
    let failure: unknown = null;
    try {
      loaded = await loadFolder(files, { fs, log: silentLogger, repair: false, maxSnapshotBytes: 2 * storeLimits.snapshotBytes });
    } catch (err) {
      failure = err;
    }
    if ((await identity()) !== before) continue; // compacted while it was read: read again
    if (failure) throw failure;
    const state = stateOf(loaded!, { changeLogLimit: 0, changeLogBytes: 0 });
    return writeExport({ storeId: loaded!.snapshot!.storeId, ...state.exportAll(1000) }, file, fs);
  }
  throw new BackupError(`${dataDir} kept changing while it was read; try again`);
}

async function writeExport(exported: StateExport, file: string, fs: StoreFs): Promise<BackupInfo> {
  const header: Header = {
    format: FORMAT,
    version: VERSION,
    storeId: exported.storeId,
    revision: exported.revision,
    records: exported.count,
    createdAt: new Date().toISOString(),
  };
  async function* chunks() {
    yield `${JSON.stringify(header)}\n`;
    for (const page of exported.pages) {
      let text = '';
      for (const change of page) text += `${JSON.stringify(change)}\n`;
      yield text;
    }
    yield `${JSON.stringify({ end: FORMAT, records: exported.count })}\n`;
  }
  await writeFileAtomic(file, chunks(), { mode: 0o600, fs });
  return { file, storeId: exported.storeId, revision: exported.revision, records: exported.count };
}

/**
 * Starts an empty (or new) data folder from a backup: checks the whole file first, then writes
 * the calendar's snapshot and opens it once as a store would. The restored calendar gets a new
 * store id, so pages and desks that knew the old one load it afresh; every record keeps its
 * version, so desks merge with it record by record.
 */
export async function restoreBackup(file: string, dataDir: string, options: { fs?: StoreFs; log?: Logger } = {}): Promise<BackupInfo> {
  const fs = options.fs ?? nodeFs;
  const existing = await fs.readdir(dataDir).catch((err: unknown) => {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  });
  if (existing.length > 0) {
    throw new BackupError(`${dataDir} is not empty: a backup is restored into a new or empty folder, so that nothing in it is overwritten`);
  }
  const { header, changes } = await readBackup(file, fs);
  const snapshot: Snapshot = { format: 1, storeId: randomUUID(), revision: header.revision, collections: {}, versions: {}, log: [] };
  for (const change of changes) {
    (snapshot.versions[change.entity] ??= {})[change.record.id] = change.hlc;
    if (change.op !== 'delete') (snapshot.collections[change.entity] ??= []).push(change.record as StoredRecord);
  }
  await fs.mkdir(dataDir, { recursive: true });
  await writeFileAtomic(storeFiles(dataDir).snapshot, JSON.stringify(snapshot), { fs });
  const store = await createLowStore({ dir: dataDir, log: options.log ?? silentLogger, fs });
  await store.close();
  return { file, storeId: snapshot.storeId, revision: header.revision, records: changes.length };
}

/** Reads and checks a whole backup: its header, every line, and the trailer's count. */
async function readBackup(file: string, fs: StoreFs): Promise<{ header: Header; changes: VersionedChange[] }> {
  const notBackup = (why: string) => new BackupError(`${file} is not a LAN Scheduler backup (${why})`);
  let header: Header | null = null;
  let trailer: { end: string; records: number } | null = null;
  const changes: VersionedChange[] = [];
  const seen = new Set<string>();
  let lineNo = 0;
  try {
    for await (const line of readLines(file, fs, MAX_LINE)) {
      lineNo++;
      if (trailer) throw notBackup(`it goes on after its end, at line ${lineNo}`);
      let value: unknown;
      try {
        value = JSON.parse(line.bytes.toString('utf8'));
      } catch {
        throw notBackup(header ? `line ${lineNo} is not JSON` : 'it does not start with a backup header');
      }
      if (!header) {
        if (!isHeader(value)) throw notBackup('it does not start with a backup header');
        header = value;
      } else if ((value as { end?: unknown }).end === FORMAT) {
        trailer = value as { end: string; records: number };
      } else {
        const problem = problemOf(value, seen);
        if (problem) throw notBackup(`line ${lineNo}: ${problem}`);
        changes.push(value as VersionedChange);
      }
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new BackupError(`${file} does not exist`);
    if (errorCode(err) === 'EISDIR') throw notBackup('it is a folder');
    if (err instanceof LineTooLong) throw notBackup(`line ${lineNo + 1} is longer than any record`);
    throw err;
  }
  if (!header) throw notBackup('it is empty');
  if (!trailer) throw new BackupError(`${file} is incomplete: it ends after ${changes.length} of its ${header.records} records`);
  if (trailer.records !== changes.length || header.records !== changes.length) {
    throw new BackupError(`${file} is damaged: it holds ${changes.length} records but says ${header.records}`);
  }
  return { header, changes };
}

function isHeader(value: unknown): value is Header {
  const h = value as Header | null;
  return !!h && h.format === FORMAT && h.version === VERSION && typeof h.storeId === 'string' && Number.isSafeInteger(h.revision) && Number.isSafeInteger(h.records);
}

function problemOf(value: unknown, seen: Set<string>): string | undefined {
  const c = value as VersionedChange | null;
  if (!c || typeof c !== 'object' || typeof c.entity !== 'string' || (c.op !== 'update' && c.op !== 'delete')) return 'not a record';
  if (!c.record || typeof c.record !== 'object' || typeof c.record.id !== 'string') return 'a record without an id';
  if (typeof c.hlc !== 'string' || !parseStamp(c.hlc)) return 'a record without a version';
  const key = keyOf(c.entity, c.record.id);
  if (seen.has(key)) return `${c.entity} ${c.record.id} appears twice`;
  seen.add(key);
  return undefined;
}
