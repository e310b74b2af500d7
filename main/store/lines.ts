import { nodeFs, type StoreFs } from './storeFs.js';

export interface Line {
  /** The line's bytes, without its '\n'. */
  bytes: Buffer;
  /** The file offset just past it (past its '\n'). */
  end: number;
  /** False for a last piece that has no '\n' (a write cut short). */
  complete: boolean;
}

const NEWLINE = 0x0a;
const CHUNK = 1024 * 1024;

/** Thrown for a line longer than the reader allows: the file is not what it should be. */
export class LineTooLong extends Error {}

/**
 * The lines of a file, read in chunks: its size is bounded by the disk, not by one string.
 * A line longer than `maxLineBytes` stops the read (a file that is not lines at all).
 */
export async function* readLines(file: string, fs: StoreFs = nodeFs, maxLineBytes = Infinity): AsyncGenerator<Line> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    let carry: Buffer[] = [];
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) break;
      let start = 0;
      for (let i = buffer.indexOf(NEWLINE, 0); i !== -1 && i < bytesRead; i = buffer.indexOf(NEWLINE, start)) {
        const piece = buffer.subarray(start, i);
        // Copied: the buffer is reused for the next chunk.
        const bytes = Buffer.from(carry.length ? Buffer.concat([...carry, piece]) : piece);
        carry = [];
        position += i + 1 - start;
        start = i + 1;
        yield { bytes, end: position, complete: true };
      }
      if (start < bytesRead) {
        carry.push(Buffer.from(buffer.subarray(start, bytesRead)));
        position += bytesRead - start;
        if (carry.reduce((n, b) => n + b.length, 0) > maxLineBytes) throw new LineTooLong(`a line longer than ${maxLineBytes} bytes`);
      }
    }
    if (carry.length) yield { bytes: Buffer.concat(carry), end: position, complete: false };
  } finally {
    await handle.close();
  }
}
