// What the store does when the disk refuses, fails or was damaged: nothing refused leaves a
// trace, nothing acknowledged is lost, damage is set aside untouched. The failures come from a
// real file system with faults switched on (test/helpers/faultyFs.ts), injected through `fs`.
// The same refusals as HTTP answers: storeDurabilityHttp.test.ts; small files: durableFile.test.ts.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../main/log.js';
import { DISK_FULL, StoreError } from '../main/store/errors.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { ChangeRequest, Store } from '../main/store/types.js';
import { faultyFs } from './helpers/faultyFs.js';
import { exportedChanges } from './helpers/storeExport.js';

let dir: string;
const lines: string[] = [];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-durable-'));
  lines.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const add = (id: string, text = id): ChangeRequest => ({ entity: 'events', op: 'add', record: { id, text } });
const ids = (store: Store) => store.list('events').map((r) => r.id).sort();
const journalLines = async () => (await readFile(join(dir, 'changes.jsonl'), 'utf8')).split('\n').filter(Boolean);
const isJournal = (path: string) => path.endsWith('changes.jsonl');
const refusal = (kind: string, message: string | RegExp) => expect.objectContaining({ name: 'StoreError', kind, message: expect.stringMatching(message) });

describe('a write the disk refuses', () => {
  it('leaves no trace in memory, reads, revisions or the change log, is cut back, and the next write goes through', async () => {
    const disk = faultyFs();
    const told: string[] = [];
    const store = await createLowStore({ dir, log, fs: disk.fs, onStorage: (status) => told.push(status.state) });
    await store.commit([add('a')]);
    await store.commit([add('b')]);
    disk.fail({ op: 'write', code: 'ENOSPC', path: isJournal });
    const refused = await store.commit([add('c', 'x'.repeat(500))]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreError);
    expect(refused).toEqual(refusal('disk-full', `^${DISK_FULL}$`));
    expect(store.get('events', 'c')).toBeUndefined();
    expect(ids(store)).toEqual(['a', 'b']);
    expect(store.revision()).toBe(2);
    expect(store.changesSince(0)).toMatchObject({ ok: true, revision: 2, changes: [{ rev: 1 }, { rev: 2 }] });
    expect(exportedChanges(store).map((c) => c.record.id).sort()).toEqual(['a', 'b']);
    expect(store.storage()).toMatchObject({ state: 'disk-full', message: DISK_FULL });
    // Half a line was written and cut back at once: the file holds the two good lines only.
    expect(await journalLines()).toHaveLength(2);
    expect((await readFile(join(dir, 'changes.jsonl'), 'utf8')).endsWith('\n')).toBe(true);

    // Still full: refused again, and only once logged.
    await expect(store.commit([add('d')])).rejects.toThrow(DISK_FULL);
    expect(lines.filter((l) => l.includes(DISK_FULL))).toHaveLength(1);

    disk.heal();
    const [next] = await store.commit([add('e')]);
    expect(next!.rev).toBe(3);
    expect(store.storage()).toEqual({ state: 'ok' });
    expect(told).toEqual(['disk-full', 'ok']);
    expect(lines.at(-1)).toMatch(/takes writes again/);
    expect(await journalLines()).toHaveLength(3);
    // No close: as if killed. The next start has every acknowledged write and nothing refused.
    const again = await createLowStore({ dir, log });
    expect(ids(again)).toEqual(['a', 'b', 'e']);
    expect(again.revision()).toBe(3);
    await again.close();
    await store.close();
  });

  it('cuts a half-written line back before the next append when cutting it at once failed too', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log, fs: disk.fs });
    await store.commit([add('a')]);
    // The write lands half a line and fails; the datasync of the cut fails as well.
    disk.fail({ op: 'write', code: 'EIO', path: isJournal });
    const failing = store.commit([add('b', 'y'.repeat(400))]);
    disk.fail({ op: 'datasync', code: 'EIO', path: isJournal });
    await expect(failing).rejects.toEqual(refusal('io', /EIO/));
    disk.heal();
    await store.commit([add('c')]);
    const kept = await journalLines();
    expect(kept.map((l) => JSON.parse(l).record.id)).toEqual(['a', 'c']);
    await store.close();
  });

  it('refuses every writer of a failed group commit, and merges count changes still on their way to the disk', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log, fs: disk.fs });
    const [first] = await store.commit([add('r', 'first')]);
    // Park the journal's sync so that writers queue behind one group commit.
    disk.hold();
    const local = store.commit([{ entity: 'events', op: 'update', record: { id: 'r', text: 'edited here' } }]);
    // A desk's older edit of the same record (later than the durable version, earlier than the queued one).
    const older = `${first!.hlc.slice(0, 11)}-000000-zz`;
    const merged = store.merge([{ entity: 'events', op: 'update', record: { id: 'r', text: 'older from a desk' }, hlc: older }]);
    const queued = Array.from({ length: 5 }, (_, i) => store.commit([add(`q${i}`)]));
    expect(store.get('events', 'r')).toMatchObject({ text: 'first' }); // not on disk yet: not visible
    disk.unhold();
    await local;
    expect(await merged).toEqual([]);
    await Promise.all(queued);
    expect(store.get('events', 'r')).toMatchObject({ text: 'edited here' });

    // Now the same, failing: every writer queued behind the failed write is refused too.
    disk.hold();
    const doomed = [store.commit([add('x1')]), store.commit([add('x2')]), store.merge([{ entity: 'events', op: 'add', record: { id: 'x3' }, hlc: older }])];
    const flushed = store.flushed();
    disk.fail({ op: 'datasync', code: 'ENOSPC', path: isJournal });
    disk.unhold();
    for (const write of doomed) await expect(write).rejects.toThrow(DISK_FULL);
    await expect(flushed).rejects.toThrow(DISK_FULL);
    expect(store.revision()).toBe(7);
    disk.heal();
    expect((await store.commit([add('y')]))[0]!.rev).toBe(8);
    await store.close();
  });

  it('answers another failure of the disk with its code', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log, fs: disk.fs });
    disk.fail({ op: 'datasync', code: 'EIO', path: isJournal });
    await expect(store.commit([add('a')])).rejects.toEqual(refusal('io', /could not save the change.*EIO/));
    expect(store.storage()).toMatchObject({ state: 'failing' });
    expect(store.list('events')).toEqual([]);
    disk.heal();
    await store.commit([add('b')]);
    await store.close();
  });
});
describe('the journal is only emptied into a snapshot that is on disk', () => {
  it('keeps the journal when a compaction cannot write the snapshot, and tries again later', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log, fs: disk.fs, compactEvery: 5 });
    disk.fail({ op: 'write', code: 'ENOSPC', path: (p) => p.includes('calendar.json.tmp') });
    for (let i = 0; i < 12; i++) await store.commit([add(`e${i}`)]);
    expect(await journalLines()).toHaveLength(12);
    expect(lines.join('\n')).toMatch(/could not fold .*changes\.jsonl.*the journal keeps every change/);
    // The failed snapshot's temp file was removed: a full disk gets its space back.
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
    disk.heal();
    for (let i = 12; i < 14; i++) await store.commit([add(`e${i}`)]);
    expect(JSON.parse(await readFile(join(dir, 'calendar.json'), 'utf8')).revision).toBe(13);
    expect(await journalLines()).toHaveLength(1);
    await store.close();
  });

  it('keeps every acknowledged write through a close while the disk is full', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log, fs: disk.fs });
    for (let i = 0; i < 20; i++) await store.commit([add(`e${i}`)]);
    disk.fail({ op: 'write', code: 'ENOSPC' });
    await expect(store.commit([add('refused')])).rejects.toThrow(DISK_FULL);
    await store.close();
    expect(lines.join('\n')).toMatch(/could not save .*calendar\.json on the way out.*keeps every acknowledged change/);
    expect(await journalLines()).toHaveLength(20);
    // Started again while the disk is still full: the journal is replayed and kept.
    const again = await createLowStore({ dir, log, fs: disk.fs });
    expect(again.list('events')).toHaveLength(20);
    expect(again.get('events', 'refused')).toBeUndefined();
    await again.close();
    disk.heal();
    const healed = await createLowStore({ dir, log });
    expect(healed.list('events')).toHaveLength(20);
    await healed.close();
    expect(await journalLines()).toHaveLength(0);
  });
});

describe('damaged files', () => {
  const journalOf = (revs: number[]) => revs.map((rev) => JSON.stringify({ rev, entity: 'events', op: 'add', record: { id: `e${rev}` }, hlc: `00000000001-000000-t${rev}` })).join('\n') + '\n';
  const startWithJournal = async (text: string) => {
    const first = await createLowStore({ dir, log });
    await first.close();
    await writeFile(join(dir, 'changes.jsonl'), text);
    return createLowStore({ dir, log }).then(
      () => null,
      (err: unknown) => err as StoreError,
    );
  };
  const asideOf = async (suffix: string) => (await readdir(dir)).filter((f) => f.startsWith(`changes.jsonl.${suffix}-`));

  it('refuses to start on a journal damaged in the middle, and sets it aside untouched', async () => {
    const text = journalOf([1, 2]) + '{"rev":3,"entity":"ev\u0000\u0000 garbage\n' + journalOf([4, 5]);
    const err = await startWithJournal(text);
    expect(err).toEqual(refusal('damaged', /changes\.jsonl is damaged at line 3 \(not JSON\)/));
    expect(err!.message).toContain(join(dir, 'changes.jsonl'));
    const aside = await asideOf('damaged');
    expect(aside).toHaveLength(1);
    expect(err!.message).toContain(join(dir, aside[0]!));
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toBe(text);
    expect((await readdir(dir)).includes('changes.jsonl')).toBe(false);
  });

  it('refuses to start on a revision gap, naming the line', async () => {
    const text = journalOf([1, 2, 4, 5]);
    expect(await startWithJournal(text)).toEqual(refusal('damaged', /line 3 \(revision 4 follows revision 2\)/));
    expect(await readFile(join(dir, (await asideOf('damaged'))[0]!), 'utf8')).toBe(text);
  });

  it('refuses a journal that starts past the snapshot', async () => {
    expect(await startWithJournal(journalOf([3, 4]))).toEqual(refusal('damaged', /line 1 \(revision 3 follows calendar\.json's revision 0\)/));
  });

  it('still drops a torn last line, and a bad last line with nothing after it', async () => {
    const text = journalOf([1, 2]) + '{"rev":3,"entity":"events","op":"add","rec';
    expect(await startWithJournal(text)).toBeNull();
    expect(lines.join('\n')).toMatch(/torn write/);
    const store = await createLowStore({ dir, log });
    expect(ids(store)).toEqual(['e1', 'e2']);
    await store.close();
    expect(await asideOf('damaged')).toEqual([]);
  });

  it('stops the start, and overwrites nothing, when a damaged snapshot cannot be set aside', async () => {
    await writeFile(join(dir, 'calendar.json'), '{"format":1, "torn');
    const disk = faultyFs();
    disk.fail({ op: 'rename', code: 'EACCES', path: (p) => p.endsWith('calendar.json') });
    await expect(createLowStore({ dir, log, fs: disk.fs })).rejects.toEqual(refusal('io', /could not move .*calendar\.json aside .*EACCES.*rather than overwrite/));
    expect(await readFile(join(dir, 'calendar.json'), 'utf8')).toBe('{"format":1, "torn');
  });
});
