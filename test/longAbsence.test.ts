import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { lastTogether, planRejoin } from '../main/peer/longAbsence.js';
import { formatStamp } from '../main/store/hlc.js';
import { createdAt, newRecordId } from '../main/store/ids.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { VersionedChange } from '../main/store/types.js';

const DAY = 86_400_000;
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe('record ids', () => {
  it('carry the time they were made; ids of earlier versions say nothing', () => {
    const before = Date.now();
    const id = newRecordId();
    expect(createdAt(id)).toBeGreaterThanOrEqual(before);
    expect(createdAt(id)).toBeLessThanOrEqual(Date.now());
    expect(createdAt('8d1f0a3e-9c27-4b64-918f-2a0dd43be9c7')).toBe(0); // v4
    expect(createdAt('calendar')).toBe(0);
  });
});

describe('when two desks were last together', () => {
  it('matters only past the time deletions are kept, and never for a desk that was never in sync', () => {
    const now = 1_000 * DAY;
    expect(lastTogether(now - 10 * DAY, now - 5 * DAY, 90 * DAY, now)).toBeNull();
    expect(lastTogether(now - 100 * DAY, now - 1 * DAY, 90 * DAY, now)).toBe(now - 100 * DAY);
    expect(lastTogether(now - 1 * DAY, now - 120 * DAY, 90 * DAY, now)).toBe(now - 120 * DAY);
    expect(lastTogether(0, now - 120 * DAY, 90 * DAY, now)).toBeNull();
  });
});

describe('the plan for a long-absence join', () => {
  it('keeps what was made since on either side, deletes what either deleted since, and names lost edits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lansched-absence-'));
    dirs.push(dir);
    const store = await createLowStore({ dir, log: silentLogger });
    const since = Date.now() - 100 * DAY;
    const oldId = (n: number) => `0${(since - DAY * n).toString(16).padStart(11, '0')}`.replace(/^(.{8})(.{4})/, '$1-$2') + '-7000-8000-000000000000';
    const stampAt = (t: number) => formatStamp(t, 0, 'x');
    const rec = (id: string, text: string) => ({ id, text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });
    const bothKnow = oldId(1);
    const iDeleted = oldId(2); // the host still holds it: this desk deleted it since
    const theyDeleted = oldId(3); // only this desk holds it, untouched since
    const iEditedTheyDeleted = oldId(4);
    const madeHere = newRecordId();
    const madeThere = newRecordId();
    await store.merge([
      { entity: 'events', op: 'add', record: rec(bothKnow, 'both'), hlc: stampAt(since - 5 * DAY) },
      { entity: 'events', op: 'add', record: rec(theyDeleted, 'gone there'), hlc: stampAt(since - 5 * DAY) },
      { entity: 'events', op: 'add', record: rec(iEditedTheyDeleted, 'edited here'), hlc: stampAt(Date.now() - DAY) },
      { entity: 'events', op: 'add', record: rec(madeHere, 'made here'), hlc: stampAt(Date.now() - DAY) },
    ]);
    const theirs = new Map<string, VersionedChange>();
    for (const [id, text] of [[bothKnow, 'both'], [iDeleted, 'gone here'], [madeThere, 'made there']] as const) {
      theirs.set(`events\u0000${id}`, { entity: 'events', op: 'add', record: rec(id, text), hlc: stampAt(since - 5 * DAY) });
    }
    const plan = planRejoin(store, theirs, since, () => stampAt(Date.now()));
    expect(plan.push.map((c) => [c.op === 'delete' ? 'delete' : 'record', c.record.id]).sort()).toEqual([['record', madeHere], ['delete', iDeleted]].sort());
    expect(plan.forget.map((c) => c.record.id).sort()).toEqual([iEditedTheyDeleted, theyDeleted].sort());
    expect(plan.lost).toEqual(['edited here']);
    await store.close();
  });
});
