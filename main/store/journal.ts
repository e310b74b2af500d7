import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { Change } from './types.js';

export interface JournalRead {
  changes: Change[];
  /** A torn last line (a write cut short by a crash) was dropped. */
  tornTail: boolean;
  /** A line in the middle did not parse: the file was damaged by something else. */
  damagedAt?: number;
}

/** Reads the write-ahead journal: one JSON change a line. A missing file is an empty journal. */
export async function readJournal(file: string): Promise<JournalRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], tornTail: false };
    throw err;
  }
  const lines = text.split('\n');
  // Every complete line ends with '\n', so the last piece is '' unless the last write was torn.
  const tail = lines.pop() ?? '';
  const changes: Change[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      changes.push(JSON.parse(lines[i]!) as Change);
    } catch {
      return { changes, tornTail: false, damagedAt: i + 1 };
    }
  }
  return { changes, tornTail: tail.length > 0 };
}

/** An append-only journal whose `append` resolves once the lines are on disk. */
export interface JournalWriter {
  append(changes: Change[]): Promise<void>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export async function openJournal(file: string): Promise<JournalWriter> {
  const handle: FileHandle = await open(file, 'a');
  return {
    async append(changes) {
      let text = '';
      for (const change of changes) text += `${JSON.stringify(change)}\n`;
      await handle.appendFile(text);
      await handle.datasync();
    },
    async clear() {
      await handle.truncate(0);
      await handle.datasync();
    },
    close: () => handle.close(),
  };
}
