// Backup and restore: a consistent copy while writes go on, of a running store or of a folder,
// and a restore into an empty folder that holds every acknowledged write the backup had.
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { backupDataDir, restoreBackup, writeBackup, type BackupInfo } from '../main/store/backup.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { Change, Store } from '../main/store/types.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lansched-backup-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const log = silentLogger;

/** Writers that create and edit events through commit, keeping every acknowledged change. */
function writeLoad(store: Store) {
  const acked: Change[] = [];
  let stop = false;
  const writer = async (w: number) => {
    for (let n = 0; !stop; n++) {
      const edit = n % 4 === 3 && acked.length > 0;
      const id = edit ? acked[(n * 7) % acked.length]!.record.id : `w${w}-${n}`;
      const [change] = await store.commit([{ entity: 'events', op: edit ? 'update' : 'add', record: { id, text: `${id} #${n}` } }]);
      acked.push(change!);
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  return {
    acked,
    async stop() {
      stop = true;
      await Promise.all(writers);
    },
  };
}

/** What the store held at `revision`, from the acknowledged changes: id → text. */
function stateAt(acked: Change[], revision: number): Map<string, unknown> {
  const state = new Map<string, unknown>();
  for (const c of [...acked].sort((a, b) => a.rev - b.rev)) if (c.rev <= revision) state.set(c.record.id, c.record.text);
  return state;
}

const backupLines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
const recordsIn = async (file: string) => new Map((await backupLines(file)).slice(1, -1).map((c) => [c.record.id, c.record.text]));

describe('backup', () => {
  it('copies a running store consistently while it takes writes, and restores into an empty folder', async () => {
    const dir = join(root, 'data');
    const store = await createLowStore({ dir, log, compactEvery: 300 });
    await store.commit([{ entity: 'events', op: 'add', record: { id: 'gone', text: 'x' } }]);
    await store.commit([{ entity: 'events', op: 'delete', record: { id: 'gone' } }]);
    const load = writeLoad(store);
    while (load.acked.length < 500) await new Promise((resolve) => setImmediate(resolve));
    const ackedBefore = store.revision();
    const file = join(root, 'office.backup');
    const info = await writeBackup(store, file);
    while (load.acked.length < 1500) await new Promise((resolve) => setImmediate(resolve));
    await load.stop();

    // Every write acknowledged before the backup, and exactly the store as of one revision.
    expect(info.revision).toBeGreaterThanOrEqual(ackedBefore);
    expect(info).toMatchObject({ file, storeId: store.storeId });
    const copied = await recordsIn(file);
    const expected = stateAt(load.acked, info.revision);
    const [header, ...rest] = await backupLines(file);
    expect(header).toMatchObject({ format: 'lan-scheduler-backup', version: 1, revision: info.revision, records: expected.size + 1 });
    expect(rest.at(-1)).toEqual({ end: 'lan-scheduler-backup', records: expected.size + 1 });
    expect(rest.find((c) => c.record?.id === 'gone')).toMatchObject({ op: 'delete' });
    copied.delete('gone');
    expect(copied).toEqual(expected);
    await store.close();

    const restoredDir = join(root, 'restored');
    const restored = await restoreBackup(file, restoredDir);
    expect(restored).toMatchObject({ revision: info.revision, records: expected.size + 1 });
    expect(restored.storeId).not.toBe(store.storeId);
    const again = await createLowStore({ dir: restoredDir, log });
    expect(again.storeId).toBe(restored.storeId);
    expect(new Map(again.list('events').map((r) => [r.id, r.text]))).toEqual(expected);
    // Versions and tombstones came along: an older edit of a deleted event does not bring it back.
    expect(await again.merge([{ entity: 'events', op: 'update', record: { id: 'gone', text: 'zombie' }, hlc: '00000000000-000000-old' }])).toEqual([]);
    expect(await again.commit([{ entity: 'events', op: 'add', record: { id: 'new' } }])).toMatchObject([{ rev: info.revision + 1 }]);
    await again.close();
  });

  it('backs up the folder of a host that is not running, journal included', async () => {
    const dir = join(root, 'data');
    const store = await createLowStore({ dir, log });
    const acked: Change[] = [];
    for (let i = 0; i < 50; i++) acked.push(...(await store.commit([{ entity: 'events', op: 'add', record: { id: `e${i}`, text: `t${i}` } }])));
    // Not closed: as after a crash, the changes are only in the journal.
    const file = join(root, 'offline.backup');
    const info = await backupDataDir(dir, file);
    expect(info).toMatchObject({ storeId: store.storeId, revision: 50, records: 50 });
    expect(await recordsIn(file)).toEqual(stateAt(acked, 50));
    const fromRunning = join(root, 'running.backup');
    await writeBackup(store, fromRunning);
    expect((await backupLines(fromRunning)).slice(1)).toEqual((await backupLines(file)).slice(1));
    await store.close();
    await expect(backupDataDir(join(root, 'nothing'), join(root, 'x.backup'))).rejects.toThrow(/holds no calendar/);
  });

  it('backs up a folder consistently while a store on it writes and compacts', async () => {
    const dir = join(root, 'data');
    const store = await createLowStore({ dir, log, compactEvery: 50 });
    const load = writeLoad(store);
    const infos: BackupInfo[] = [];
    for (let i = 0; i < 8; i++) {
      while (load.acked.length < 200 * (i + 1)) await new Promise((resolve) => setImmediate(resolve));
      const before = store.revision();
      const info = await backupDataDir(dir, join(root, `b${i}.backup`));
      expect(info.revision).toBeGreaterThanOrEqual(before);
      infos.push(info);
    }
    await load.stop();
    for (const [i, info] of infos.entries()) expect(await recordsIn(join(root, `b${i}.backup`))).toEqual(stateAt(load.acked, info.revision));
    await store.close();
  });

  it('restores only into an empty folder, and only from a whole backup', async () => {
    const dir = join(root, 'data');
    const store = await createLowStore({ dir, log });
    for (let i = 0; i < 20; i++) await store.commit([{ entity: 'events', op: 'add', record: { id: `e${i}` } }]);
    const file = join(root, 'good.backup');
    await writeBackup(store, file);
    await store.close();

    await expect(restoreBackup(file, dir)).rejects.toThrow(`${dir} is not empty: a backup is restored into a new or empty folder`);
    const target = join(root, 'target');
    await mkdir(target);
    const refuse = async (name: string, content: string | Buffer, message: RegExp) => {
      const bad = join(root, name);
      await writeFile(bad, content);
      await expect(restoreBackup(bad, target)).rejects.toThrow(message);
    };
    await refuse('calendar.json', await readFile(join(dir, 'calendar.json')), /calendar\.json is not a LAN Scheduler backup \(it does not start with a backup header\)/);
    await refuse('empty', '', /is not a LAN Scheduler backup \(it is empty\)/);
    await refuse('binary', Buffer.alloc(20 * 1024 * 1024, 7), /is not a LAN Scheduler backup \(line 1 is longer than any record\)/);
    const lines = (await readFile(file, 'utf8')).split('\n');
    await refuse('cut.backup', lines.slice(0, 10).join('\n') + '\n', /cut\.backup is incomplete: it ends after 9 of its 20 records/);
    await refuse('torn.backup', lines.slice(0, 10).join('\n') + '\n{"entity":"ev', /is not a LAN Scheduler backup \(line 11 is not JSON\)/);
    await refuse('twice.backup', [lines[0], lines[1], lines[1], ...lines.slice(2)].join('\n'), /line 3: events e0 appears twice/);
    await expect(restoreBackup(join(root, 'missing.backup'), target)).rejects.toThrow(/missing\.backup does not exist/);
    const cut = join(root, 'short.backup');
    await writeFile(cut, await readFile(file));
    await truncate(cut, (await readFile(file)).length - 5);
    await expect(restoreBackup(cut, target)).rejects.toThrow(/short\.backup/);
    // Nothing was written by the refusals.
    expect(await import('node:fs/promises').then((f) => f.readdir(target))).toEqual([]);
    await restoreBackup(file, target);
  });
});
