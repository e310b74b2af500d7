// Small files written whole (settings, the desk file, certificates) by writeFileAtomic, and folders
// synced, the store's too when it creates its journal; faults from test/helpers/faultyFs.ts.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { syncFolder, writeFileAtomic } from '../main/store/durableFile.js';
import { createLowStore } from '../main/store/lowStore.js';
import { nodeFs, type StoreFs } from '../main/store/storeFs.js';
import { faultyFs } from './helpers/faultyFs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-durable-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('small files', () => {
  it('writes atomically with the mode asked for, and leaves no temp file when it fails', async () => {
    const file = join(dir, 'secret');
    await writeFileAtomic(file, 'one\n', { mode: 0o600 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(file, ['t', Buffer.from('wo\n')], { mode: 0o600 });
    expect(await readFile(file, 'utf8')).toBe('two\n');
    const disk = faultyFs();
    disk.fail({ op: 'sync', code: 'EIO' });
    await expect(writeFileAtomic(file, 'three\n', { fs: disk.fs })).rejects.toThrow(/EIO/);
    expect(await readFile(file, 'utf8')).toBe('two\n');
    expect(await readdir(dir)).toEqual(['secret']);
  });

  it('does not swallow a failed folder fsync, except where folders cannot be synced (Windows)', async () => {
    const disk = faultyFs();
    disk.fail({ op: 'sync', code: 'EIO', path: (p) => p === dir });
    await expect(syncFolder(dir, disk.fs, 'linux')).rejects.toThrow(/EIO/);
    await expect(writeFileAtomic(join(dir, 'f'), 'x', { fs: disk.fs })).rejects.toThrow(/EIO/);
    disk.fail({ op: 'open', code: 'EISDIR', path: (p) => p === dir });
    await expect(syncFolder(dir, disk.fs, 'win32')).resolves.toBeUndefined();
    await expect(syncFolder(dir, disk.fs, 'linux')).rejects.toThrow(/EISDIR/);
    await expect(syncFolder(dir, nodeFs)).resolves.toBeUndefined();
  });

  it('syncs the folder when it creates the journal', async () => {
    const synced: string[] = [];
    const fs: StoreFs = {
      ...nodeFs,
      async open(path, flags, mode) {
        const file = await nodeFs.open(path, flags, mode);
        return {
          read: (b, o, l, p) => file.read(b, o, l, p),
          write: (b, o, l, p) => file.write(b, o, l, p),
          datasync: () => file.datasync(),
          truncate: (length) => file.truncate(length),
          stat: () => file.stat(),
          close: () => file.close(),
          sync: () => (synced.push(path), file.sync()),
        };
      },
    };
    await (await createLowStore({ dir, log: silentLogger, fs })).close();
    // Once for the first snapshot's rename, once for the new journal's name.
    expect(synced.filter((p) => p === dir)).toHaveLength(2);
  });
});
