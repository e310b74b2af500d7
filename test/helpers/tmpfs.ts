import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  /** The mount point. */
  dir: string;
  /** Fills the disk up to `leaveBytes` of free space with a filler file. */
  fill(leaveBytes?: number): Promise<void>;
  /** Removes the filler: space is free again. */
  free(): Promise<void>;
  /** Unmounts and removes the mount point; safe to call twice. */
  close(): Promise<void>;
}

/** Why a tmpfs cannot be mounted here, or undefined when it can (root, and a kernel that allows it). */
export async function tmpfsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  try {
    const disk = await mountSmallDisk(64 * 1024);
    await disk.close();
  } catch (err) {
    return `mount -t tmpfs does not work here: ${(err as Error).message}`;
  }
  return undefined;
}

/** A real, small file system (`mount -t tmpfs -o size=…`) in a temp folder: a disk that fills up. */
export async function mountSmallDisk(bytes: number): Promise<SmallDisk> {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  const filler = join(dir, 'filler');
  let closing: Promise<void> | null = null;
  return {
    dir,
    async fill(leaveBytes = 0) {
      const handle = await open(filler, 'a');
      const chunk = Buffer.alloc(4096);
      let size = (await handle.stat()).size;
      try {
        for (;;) size += (await handle.write(chunk, 0, chunk.length, size)).bytesWritten;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      await handle.truncate(Math.max(0, size - leaveBytes));
      await handle.close();
    },
    free: () => unlink(filler).catch(() => undefined),
    close() {
      closing ??= (async () => {
        // A lazy unmount as a last resort: a process that still holds a file must not leave the mount behind.
        await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
