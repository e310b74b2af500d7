import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** The file handle operations a store makes. */
export interface StoreFile {
  /** True for a file opened with O_DSYNC by node's file system: each write is on disk when it returns. */
  readonly durableWrites?: boolean;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/**
 * The file system a store works on: node's, or in a test one whose writes or syncs fail on
 * demand (a full disk, a failing drive) without touching the store's own code.
 */
export interface StoreFs {
  /** `flags` as node's `open` takes them: a string, or O_ constants (O_DSYNC included). */
  open(path: string, flags: string | number, mode?: number): Promise<StoreFile>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  stat(path: string): Promise<{ size: number; ino: number; mtimeMs: number }>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
}

/** O_DSYNC where there is one (not on Windows): a write returns once it is on disk, with no fdatasync after it. */
export const DSYNC = constants.O_DSYNC ?? 0;

export const nodeFs: StoreFs = {
  async open(path, flags, mode) {
    const handle = await fsp.open(path, flags, mode);
    return typeof flags === 'number' && DSYNC !== 0 && (flags & DSYNC) === DSYNC ? Object.assign(handle, { durableWrites: true }) : handle;
  },
  readFile: (path) => fsp.readFile(path),
  rename: fsp.rename,
  unlink: fsp.unlink,
  stat: (path) => fsp.stat(path),
  mkdir: fsp.mkdir,
  readdir: (path) => fsp.readdir(path),
};

export const errorCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** Writes all of `data` at `position`: a short write (a disk filling up) is followed by another, which then fails. */
export async function writeAll(file: StoreFile, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('no space left to write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}
