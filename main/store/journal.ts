import { dirname } from 'node:path';
import { syncFolder } from './durableFile.js';
import { readLines } from './lines.js';
import { errorCode, nodeFs, writeAll, type StoreFile, type StoreFs } from './storeFs.js';
import type { Change } from './types.js';

export interface JournalRead {
  changes: Change[];
  /** Bytes of the complete, good lines: where the next append goes. */
  goodLength: number;
  /** The file went on past `goodLength` with a torn last line (a write cut short, never acknowledged). */
  tornTail: boolean;
  /** A line that is not a change, or that skips revisions, with good lines after it: damage from elsewhere. */
  damaged?: { line: number; why: string };
}

/**
 * Reads the write-ahead journal: one JSON change a line, revisions consecutive. A missing
 * file is an empty journal.
 */
export async function readJournal(file: string, fs: StoreFs = nodeFs): Promise<JournalRead> {
  const changes: Change[] = [];
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
        if (line.bytes.some((b) => b !== 0 && b !== 0x20)) return { changes, goodLength, tornTail: false, damaged: bad };
        continue;
      }
      const why = problemOf(line.bytes, changes.at(-1));
      if (why) bad = { line: lineNo, why };
      else {
        changes.push(JSON.parse(line.bytes.toString('utf8')) as Change);
        goodLength = line.end;
      }
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { changes: [], goodLength: 0, tornTail: false };
    throw err;
  }
  // Every acknowledged line ends with '\n' and was synced: whatever follows the good lines was never acknowledged.
  return { changes, goodLength, tornTail: length > goodLength };
}

const OPS = new Set(['add', 'update', 'delete']);

function problemOf(line: Buffer, previous: Change | undefined): string | undefined {
  let change: Change;
  try {
    change = JSON.parse(line.toString('utf8')) as Change;
  } catch {
    return 'not JSON';
  }
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
  if (!shaped) return 'not a change';
  if (previous && change.rev !== previous.rev + 1) return `revision ${change.rev} follows revision ${previous.rev}`;
  return undefined;
}

/** An append-only journal whose `append` resolves once the lines are on disk. */
export interface JournalWriter {
  /** Writes the lines (each without its '\n') after the last good one, and syncs. */
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
 */
export async function openJournal(file: string, goodLength: number, fs: StoreFs = nodeFs): Promise<JournalWriter> {
  let handle: StoreFile;
  try {
    handle = await fs.open(file, 'r+');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    handle = await fs.open(file, 'w+');
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
      const text = Buffer.from(`${lines.join('\n')}\n`);
      try {
        await writeAll(handle, text, length);
        await handle.datasync();
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
