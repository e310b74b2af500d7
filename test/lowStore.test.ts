import { mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../main/log.js';
import { formatStamp, parseStamp } from '../main/store/hlc.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { ChangeRequest } from '../main/store/types.js';
import { exportedChanges } from './helpers/storeExport.js';

let dir: string;
const lines: string[] = [];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-store-'));
  lines.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const add = (id: string, text = id): ChangeRequest => ({ entity: 'events', op: 'add', record: { id, text } });

describe('lowStore', () => {
  it('numbers changes with consecutive revisions and keeps them across a restart', async () => {
    const store = await createLowStore({ dir, log });
    const changes = await store.commit([add('a'), add('b')]);
    expect(changes.map((c) => c.rev)).toEqual([1, 2]);
    await store.commit([{ entity: 'events', op: 'delete', record: { id: 'a' } }]);
    const storeId = store.storeId;
    await store.close();
    await store.close(); // idempotent

    const again = await createLowStore({ dir, log });
    expect(again.storeId).toBe(storeId);
    expect(again.revision()).toBe(3);
    expect(again.list('events')).toEqual([{ id: 'b', text: 'b' }]);
    expect((await again.commit([add('c')]))[0]!.rev).toBe(4);
    // The change log survives the restart too, so pages can catch up across it.
    const answer = again.changesSince(1);
    expect(answer.ok && answer.changes.map((c) => c.rev)).toEqual([2, 3, 4]);
    await again.close();
  });

  it('recovers acknowledged writes from the journal when the process dies without closing', async () => {
    const store = await createLowStore({ dir, log });
    await store.commit([add('a')]);
    await store.commit([add('b')]);
    // No close(): as if killed. The journal holds both lines.
    expect((await readFile(join(dir, 'changes.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
    const again = await createLowStore({ dir, log });
    expect(again.list('events').map((r) => r.id)).toEqual(['a', 'b']);
    await again.close();
    await store.close();
  });

  it('drops a torn last journal line, which was never acknowledged', async () => {
    const store = await createLowStore({ dir, log });
    await store.commit([add('a')]);
    await appendFile(join(dir, 'changes.jsonl'), '{"rev":2,"entity":"events","op":"add","rec');
    const again = await createLowStore({ dir, log });
    expect(again.list('events').map((r) => r.id)).toEqual(['a']);
    expect(lines.join('\n')).toMatch(/torn write/);
    expect((await again.commit([add('b')]))[0]!.rev).toBe(2);
    await again.close();
    await store.close();
  });

  it('coalesces concurrent commits into few journal writes', async () => {
    const store = await createLowStore({ dir, log });
    const writes = Array.from({ length: 200 }, (_, i) => store.commit([add(`e${i}`)]));
    const revs = (await Promise.all(writes)).map((c) => c[0]!.rev);
    expect(revs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await store.close();
    const again = await createLowStore({ dir, log });
    expect(again.list('events')).toHaveLength(200);
    await again.close();
  });

  it('folds the journal into the snapshot every compactEvery lines', async () => {
    const store = await createLowStore({ dir, log, compactEvery: 10 });
    for (let i = 0; i < 25; i++) await store.commit([add(`e${i}`)]);
    const journal = (await readFile(join(dir, 'changes.jsonl'), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(5);
    const snapshot = JSON.parse(await readFile(join(dir, 'calendar.json'), 'utf8'));
    expect(snapshot.revision).toBe(20);
    const again = await createLowStore({ dir, log });
    expect(again.list('events')).toHaveLength(25);
    await again.close();
    await store.close();
  });

  it('answers changes since a revision, or says it is too old', async () => {
    const store = await createLowStore({ dir, log, changeLogLimit: 5 });
    for (let i = 0; i < 12; i++) await store.commit([add(`e${i}`)]);
    const recent = store.changesSince(10);
    expect(recent.ok && recent.changes.map((c) => c.rev)).toEqual([11, 12]);
    expect(store.changesSince(0)).toEqual({ ok: false, revision: 12, reason: 'too-old' });
    expect(store.changesSince(12, 'another-store')).toMatchObject({ ok: false, reason: 'unknown-store' });
    await store.close();
  });

  it('sets aside a snapshot that does not parse, with a message, and never overwrites it', async () => {
    await writeFile(join(dir, 'calendar.json'), '{"format":1, "events": [oops');
    const store = await createLowStore({ dir, log });
    expect(store.list('events')).toEqual([]);
    const aside = (await readdir(dir)).find((f) => f.startsWith('calendar.json.unreadable-'));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, aside!), 'utf8')).toBe('{"format":1, "events": [oops');
    expect(lines.join('\n')).toMatch(/calendar\.json does not parse/);
    await store.close();
  });

  it('sets aside a JSON file that is not a calendar', async () => {
    await writeFile(join(dir, 'calendar.json'), '{"hello":"world"}');
    const store = await createLowStore({ dir, log });
    expect((await readdir(dir)).some((f) => f.startsWith('calendar.json.unreadable-'))).toBe(true);
    expect(lines.join('\n')).toMatch(/not a LAN Scheduler calendar/);
    await store.close();
  });

  it('says when every applied change is on disk', async () => {
    const store = await createLowStore({ dir, log });
    await store.flushed(); // nothing pending: at once
    const write = store.commit([add('a')]);
    let flushedFirst = false;
    const flushed = store.flushed().then(() => (flushedFirst = !(store.revision() < 1)));
    await Promise.all([write, flushed]);
    expect(flushedFirst).toBe(true);
    await store.close();
  });

  it('merges changes from another desk: the later version of each record wins, deletes included', async () => {
    const here = await createLowStore({ dir, log });
    const otherDir = await mkdtemp(join(tmpdir(), 'lansched-store-'));
    const there = await createLowStore({ dir: otherDir, log });
    await here.commit([add('shared', 'from here'), add('mine')]);
    await there.commit([add('theirs')]);
    // Edited later over there, deleted later here.
    await there.merge(exportedChanges(here));
    await there.commit([{ entity: 'events', op: 'update', record: { id: 'shared', text: 'edited there' } }]);
    await here.commit([{ entity: 'events', op: 'delete', record: { id: 'mine' } }]);

    const applied = await here.merge(exportedChanges(there));
    expect(applied.map((c) => [c.op, c.record.id]).sort()).toEqual([['add', 'theirs'], ['update', 'shared']]);
    await there.merge(exportedChanges(here));
    const view = (s: typeof here) => s.list('events').map((r) => `${r.id}=${r.text}`).sort();
    expect(view(here)).toEqual(['shared=edited there', 'theirs=theirs']);
    expect(view(there)).toEqual(view(here));
    // An older version of a deleted record does not bring it back, and a repeat merge changes nothing.
    expect(await here.merge([{ entity: 'events', op: 'update', record: { id: 'mine', text: 'zombie' }, hlc: '00000000000-000000-old' }])).toEqual([]);
    expect(await here.merge(exportedChanges(there))).toEqual([]);
    // Versions and tombstones survive a restart.
    await here.close();
    const again = await createLowStore({ dir, log });
    expect(await again.merge([{ entity: 'events', op: 'update', record: { id: 'mine', text: 'zombie' }, hlc: '00000000000-000000-old' }])).toEqual([]);
    expect(exportedChanges(again).find((c) => c.record.id === 'mine')).toMatchObject({ op: 'delete' });
    await again.close();
    await there.close();
    await rm(otherDir, { recursive: true, force: true });
  });

  it('stamps an edit after a restart later than every version it holds', async () => {
    const store = await createLowStore({ dir, log });
    // A version from a desk whose clock runs half a minute ahead: within what a desk accepts.
    const ahead = formatStamp(Date.now() + 30_000, 5, 'ahead');
    expect(await store.merge([{ entity: 'events', op: 'add', record: { id: 'a', text: 'from the future' }, hlc: ahead }])).toHaveLength(1);
    await store.close();
    const again = await createLowStore({ dir, log });
    const [edit] = await again.commit([{ entity: 'events', op: 'update', record: { id: 'a', text: 'edited here' } }]);
    expect(edit!.hlc > ahead).toBe(true);
    await again.close();
  });

  it('refuses a version stamped more than a minute ahead of its clock', async () => {
    const store = await createLowStore({ dir, log });
    const dayAhead = formatStamp(Date.now() + 86_400_000, 0, 'ahead');
    expect(await store.merge([{ entity: 'events', op: 'add', record: { id: 'a', text: 'frozen' }, hlc: dayAhead }])).toEqual([]);
    expect(store.get('events', 'a')).toBeUndefined();
    expect(store.revision()).toBe(0);
    await store.close();
  });

  it('stamps anew, on start, a version an earlier clock put far in the future, so later edits win again', async () => {
    // Written by a store whose clock ran a day ahead (as an earlier version of the app accepted from desks).
    const dayAhead = () => Date.now() + 86_400_000;
    const skewed = await createLowStore({ dir, log, now: dayAhead });
    await skewed.commit([{ entity: 'events', op: 'add', record: { id: 'a', text: 'frozen' } }]);
    await skewed.close();
    const store = await createLowStore({ dir, log });
    const held = exportedChanges(store).find((c) => c.record.id === 'a')!;
    expect(parseStamp(held.hlc)!.wall).toBeLessThanOrEqual(Date.now());
    const [edit] = await store.commit([{ entity: 'events', op: 'update', record: { id: 'a', text: 'thawed' } }]);
    expect(edit!.hlc > held.hlc).toBe(true);
    await store.close();
  });

  it('answers changes a page at a time, by count and by size, with a cursor', async () => {
    const store = await createLowStore({ dir, log });
    const writes = Array.from({ length: 2500 }, (_, i) => store.commit([add(`e${i}`)]));
    await Promise.all(writes);
    const first = store.changesSince(0);
    expect(first).toMatchObject({ ok: true, revision: 1000, more: true });
    expect(first.ok && first.changes.map((c) => c.rev)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const second = store.changesSince(1000);
    expect(second).toMatchObject({ ok: true, revision: 2000, more: true });
    const last = store.changesSince(2000);
    expect(last.ok && last.changes).toHaveLength(500);
    expect(last).toMatchObject({ ok: true, revision: 2500 });
    expect('more' in last).toBe(false);
    // By size: about 512 KiB of changes a page, but always at least one.
    const big = await store.commit([add('big1', 'x'.repeat(300_000)), add('big2', 'y'.repeat(300_000))]);
    expect(store.changesSince(2500)).toMatchObject({ ok: true, revision: big[0]!.rev, more: true, changes: [{ rev: 2501 }] });
    expect(store.changesSince(2500, undefined, { bytes: 100 })).toMatchObject({ changes: [{ rev: 2501 }] });
    expect(store.changesSince(0, undefined, { changes: 10 })).toMatchObject({ revision: 10, more: true });
    await store.close();
  });

  it('exports every record and tombstone as of the call, in pages, while writes go on', async () => {
    const store = await createLowStore({ dir, log });
    await Promise.all(Array.from({ length: 2500 }, (_, i) => store.commit([add(`e${i}`)])));
    await store.commit([{ entity: 'events', op: 'delete', record: { id: 'e0' } }]);
    const taken = store.exportPages(1000);
    expect(taken).toMatchObject({ storeId: store.storeId, revision: 2501, count: 2500 });
    // Written after the export was taken: not in it.
    await store.commit([add('later'), { entity: 'events', op: 'update', record: { id: 'e1', text: 'changed later' } }]);
    const pages = [...taken.pages];
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 500]);
    const all = pages.flat();
    expect(all.find((c) => c.record.id === 'e0')).toMatchObject({ op: 'delete' });
    expect(all.find((c) => c.record.id === 'e1')).toMatchObject({ op: 'update', record: { text: 'e1' } });
    expect(all.some((c) => c.record.id === 'later')).toBe(false);
    // The pages can be read again, and an export taken now, as one list, has the later record too.
    expect([...taken.pages].flat()).toEqual(all);
    expect(exportedChanges(store)).toHaveLength(2501);
    await store.close();
  });

  it('refuses a local write past the record limit with a clear error, and lets deletes and merges through', async () => {
    const store = await createLowStore({ dir, log, maxRecords: 3 });
    await store.commit([add('a'), add('b')]);
    const refused = store.commit([add('c'), add('d')]);
    await expect(refused).rejects.toMatchObject({ kind: 'limit', message: 'this calendar holds 3 events, the most it keeps; delete some first' });
    expect(store.revision()).toBe(2);
    await store.commit([add('c')]);
    await expect(store.commit([add('d')])).rejects.toMatchObject({ kind: 'limit' });
    await store.commit([{ entity: 'events', op: 'delete', record: { id: 'a' } }]);
    await store.commit([add('d')]);
    // A desk's merge is never refused for it: desks must converge.
    const merged = await store.merge([{ entity: 'events', op: 'add', record: { id: 'm' }, hlc: formatStamp(Date.now(), 0, 'desk') }]);
    expect(merged).toHaveLength(1);
    expect(store.list('events')).toHaveLength(4);
    // Other kinds count on their own.
    await store.commit([{ entity: 'tasks', op: 'add', record: { id: 't' } }]);
    await store.close();
  });

  it('refuses a local write that would take the snapshot past its size limit; deletes still go through', async () => {
    const store = await createLowStore({ dir, log, maxSnapshotBytes: 64 * 1024 });
    let accepted = 0;
    let error: unknown;
    for (let i = 0; i < 100 && !error; i++) {
      await store.commit([add(`e${i}`, 'x'.repeat(2000))]).then(() => accepted++, (err: unknown) => (error = err));
    }
    expect(error).toMatchObject({ kind: 'limit', message: 'this calendar has reached its size limit of 0.1 MiB; delete something first' });
    expect(accepted).toBeGreaterThan(5);
    for (let i = 0; i < 5; i++) await store.commit([{ entity: 'events', op: 'delete', record: { id: `e${i}` } }]);
    await store.close();
    const again = await createLowStore({ dir, log, maxSnapshotBytes: 64 * 1024 });
    expect((await readFile(join(dir, 'calendar.json'))).length).toBeLessThanOrEqual(64 * 1024);
    expect(again.list('events')).toHaveLength(accepted - 5);
    await again.close();
  });

  it('refuses commits after close', async () => {
    const store = await createLowStore({ dir, log });
    await store.close();
    await expect(store.commit([add('a')])).rejects.toThrow(/closed/);
  });
});
