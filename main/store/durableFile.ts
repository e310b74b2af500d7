import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Adapter } from 'lowdb';

/**
 * A lowdb adapter for one JSON file that is on disk when `write` resolves:
 * write a temp file, fsync it, rename it over the old one, fsync the folder.
 * A crash at any moment leaves either the old file or the new one, never half of one.
 */
export function durableJsonFile<T>(file: string): Adapter<T> {
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      return JSON.parse(text) as T;
    },
    async write(data) {
      const tmp = `${file}.tmp`;
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(JSON.stringify(data));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
      await syncFolder(dirname(file));
    },
  };
}

/** Makes a rename durable. Folders cannot be opened on Windows; there the rename is as durable as it gets. */
export async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // not supported on this platform
  } finally {
    await handle?.close();
  }
}
