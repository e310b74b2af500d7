import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { syncFolder } from './durableFile.js';
import { frameRecord, isWholeRecord, unframeRecord } from './journalRecord.js';
import { readLines } from './lines.js';
import { DSYNC, errorCode, nodeFs, writeAll, type StoreFile, type StoreFs } from './storeFs.js';
import type { Change } from './types.js';

export interface JournalRead {
  changes: Change[];
  /** Each change's JSON length and a newline, as in the journal before framing: what it takes in the log of a snapshot. */
  sizes: number[];
  /** Bytes of the complete, good lines: where the next append goes. */
  goodLength: number;
  /** The file went on past `goodLength` with a torn last line (a write cut short, never acknowledged). */
  tornTail: boolean;
  /** A line that is not a change, or that skips revisions, with good lines after it: damage from elsewhere. */
  damaged?: { line: number; why: string };
}

/**
 * Reads the write-ahead journal: one change a line, each with its length and checksum
 * (journalRecord.ts), revisions consecutive. A missing file is an empty journal. Zeros after the
 * last good line (a file system that extended the file but never wrote the record) are a torn
 * tail like any other; zeros, or anything else, with a good line after them are damage.
 */
export async function readJournal(file: string, fs: StoreFs = nodeFs): Promise<JournalRead> {
  const changes: Change[] = [];
  const sizes: number[] = [];
  let goodLength = 0;
  let lineNo = 0;
  /** The first bad line: damage if a good one follows, a torn tail if nothing does. */
  let bad: { line: number; why: string } | undefined;
  let length = 0;
  try {
    for await (const line of readLines(file, fs)) {
      length = line.end;
      if (!line.complete) break;
      lineNo++;
      if (bad) {
        // Anything but padding after a bad line makes it damage in the middle, not a torn tail.
        if (line.bytes.some((b) => b !== 0 && b !== 0x20)) return { changes, sizes, goodLength, tornTail: false, damaged: bad };
        continue;
      }
      const read = changeOf(line.bytes, changes.at(-1));
      if ('why' in read) {
        bad = { line: lineNo, why: read.why };
        // A whole record inside a bad line: a block zeroed or garbled in front of it, never a torn tail.
        if (hidesRecord(line.bytes)) return { changes, sizes, goodLength, tornTail: false, damaged: { ...bad, why: `${read.why}, and a whole record follows inside it` } };
      } else {
        changes.push(read.change);
        sizes.push(read.size);
        goodLength = line.end;
      }
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { changes: [], sizes: [], goodLength: 0, tornTail: false };
    throw err;
  }
  // Every acknowledged line ends with '\n' and was synced: whatever follows the good lines was never acknowledged.
  return { changes, sizes, goodLength, tornTail: length > goodLength };
}

const OPS = new Set(['add', 'update', 'delete']);
const RECORD_START = Buffer.from('{"crc":"');

/** Whether a whole, checksummed record starts somewhere after the beginning of `line`. */
function hidesRecord(line: Buffer): boolean {
  for (let i = line.indexOf(RECORD_START, 1); i !== -1; i = line.indexOf(RECORD_START, i + 1)) {
    if (isWholeRecord(line.subarray(i))) return true;
  }
  return false;
}

function changeOf(line: Buffer, previous: Change | undefined): { change: Change; size: number } | { why: string } {
  const record = unframeRecord(line);
  let change: Change;
  try {
    change = JSON.parse(record.json) as Change;
  } catch {
    return { why: 'not JSON' };
  }
  if (record.why) return { why: record.why };
  const c = change as Partial<Change> | null;
  const shaped =
    !!c &&
    typeof c === 'object' &&
    Number.isSafeInteger(c.rev) &&
    typeof c.entity === 'string' &&
    OPS.has(c.op as string) &&
    !!c.record &&
    typeof c.record === 'object' &&
    typeof c.record.id === 'string' &&
    typeof c.hlc === 'string';
  if (!shaped) return { why: 'not a change' };
  if (previous && change.rev !== previous.rev + 1) return { why: `revision ${change.rev} follows revision ${previous.rev}` };
  return { change, size: record.json.length + 1 };
}

/** An append-only journal whose `append` resolves once the lines are on disk. */
export interface JournalWriter {
  /** Writes the changes' JSON lines (each without its '\n') as records after the last good one; resolves once they are on disk. */
  append(lines: string[]): Promise<void>;
  /** Empties the journal: only once a snapshot holding all of it is on disk. */
  clear(): Promise<void>;
  /** How many bytes of good lines it holds. */
  length(): number;
  close(): Promise<void>;
}

/**
 * Opens the journal for appending at `goodLength`, cutting off whatever follows (a torn line).
 * Writes go to known offsets, so a write that failed halfway (a full disk) is cut back to the
 * last good line before the next one: it can never become damage in the middle of the file.
 * The file is opened with O_DSYNC: one system call per group commit instead of a write and a
 * sync. A file system that cannot say its writes are durable gets a datasync after each.
 */
export async function openJournal(file: string, goodLength: number, fs: StoreFs = nodeFs): Promise<JournalWriter> {
  let handle: StoreFile;
  try {
    handle = await fs.open(file, constants.O_RDWR | DSYNC);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    handle = await fs.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC, 0o666);
    // The new file's name must be as durable as the lines it will hold.
    await syncFolder(dirname(file), fs);
  }
  let length = goodLength;
  /** Bytes past `length` may be on disk: cut them before the next write. */
  let dirty = (await handle.stat()).size !== length;
  const cutBack = async () => {
    await handle.truncate(length);
    await handle.datasync();
    dirty = false;
  };
  try {
    if (dirty) await cutBack();
  } catch (err) {
    await handle.close();
    throw err;
  }
  return {
    async append(lines) {
      if (dirty) await cutBack();
      let records = '';
      for (const line of lines) records += `${frameRecord(line)}\n`;
      const text = Buffer.from(records);
      try {
        await writeAll(handle, text, length);
        if (!handle.durableWrites) await handle.datasync();
      } catch (err) {
        dirty = true;
        // Right away too: cutting back frees what a full disk needs.
        await cutBack().catch(() => undefined);
        throw err;
      }
      length += text.length;
    },
    async clear() {
      const before = length;
      await handle.truncate(0);
      length = 0;
      try {
        await handle.datasync();
      } catch (err) {
        dirty = before > 0;
        throw err;
      }
    },
    length: () => length,
    close: () => handle.close(),
  };
}
