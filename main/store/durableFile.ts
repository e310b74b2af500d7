import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { Adapter } from 'lowdb';
import { StoreError } from './errors.js';
import { errorCode, nodeFs, writeAll, type StoreFs } from './storeFs.js';

export type FileData = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

export interface AtomicWriteOptions {
  /** The new file's permissions (before the umask), e.g. 0o600 for a secret. */
  mode?: number;
  fs?: StoreFs;
}

/**
 * Replaces `file` so that a crash at any moment leaves the old file or the new one, never
 * half of one: a temp file beside it, written and fsynced, renamed over it, the folder fsynced.
 * `data` may come in chunks (a large backup is never one string). A failed write removes its
 * temp file, so a full disk gets its space back.
 */
export async function writeFileAtomic(file: string, data: FileData, options: AtomicWriteOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await fs.open(tmp, 'wx', options.mode ?? 0o666);
    try {
      let position = 0;
      for await (const chunk of chunksOf(data)) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        await writeAll(handle, bytes, position);
        position += bytes.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncFolder(dirname(file), fs);
}

async function* chunksOf(data: FileData): AsyncIterable<string | Uint8Array> {
  if (typeof data === 'string' || data instanceof Uint8Array) yield data;
  else yield* data;
}

/**
 * Makes a rename or a new file's name durable. Windows cannot open or sync a folder (EPERM,
 * EISDIR): there the rename is as durable as it gets. Everywhere else a failure is an error.
 */
export async function syncFolder(folder: string, fs: StoreFs = nodeFs, platform = process.platform): Promise<void> {
  const tolerated = (err: unknown) => platform === 'win32' && ['EPERM', 'EISDIR', 'EACCES'].includes(errorCode(err) ?? '');
  let handle;
  try {
    handle = await fs.open(folder, 'r');
  } catch (err) {
    if (tolerated(err)) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!tolerated(err)) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Moves a file a person must look at out of the way, and checks that it really moved before
 * anything is written in its place: a failed set-aside stops the caller instead.
 */
export async function setAside(file: string, suffix: string, fs: StoreFs = nodeFs): Promise<string> {
  const aside = `${file}.${suffix}-${Date.now()}`;
  try {
    const before = await fs.stat(file);
    await fs.rename(file, aside);
    const after = await fs.stat(aside);
    if (after.size !== before.size || after.ino !== before.ino) throw new Error(`${aside} is not the file that was moved`);
    const gone = await fs.stat(file).then(
      () => false,
      (err) => errorCode(err) === 'ENOENT',
    );
    if (!gone) throw new Error(`${file} is still there`);
    await syncFolder(dirname(file), fs);
  } catch (err) {
    throw new StoreError('io', `could not move ${file} aside to ${aside} (${errorCode(err) ?? (err as Error).message}); stopped rather than overwrite it`, {
      cause: err,
    });
  }
  return aside;
}

/** A lowdb adapter for one JSON file, written with `writeFileAtomic`; `bytes` is the size last read or written. */
export interface DurableJsonFile<T> extends Adapter<T> {
  bytes: number;
}

export function durableJsonFile<T>(file: string, fs: StoreFs = nodeFs, maxBytes = Infinity): DurableJsonFile<T> {
  const adapter: DurableJsonFile<T> = {
    bytes: 0,
    async read() {
      let size: number;
      try {
        size = (await fs.stat(file)).size;
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return null;
        throw err;
      }
      if (size > maxBytes) {
        throw new StoreError('limit', `${file} is ${mib(size)}, more than the ${mib(maxBytes)} a calendar may take; it was left untouched`);
      }
      const text = (await fs.readFile(file)).toString('utf8');
      adapter.bytes = size;
      return JSON.parse(text) as T;
    },
    async write(data) {
      const bytes = Buffer.from(JSON.stringify(data));
      await writeFileAtomic(file, bytes, { fs });
      adapter.bytes = bytes.length;
    },
  };
  return adapter;
}

export const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
