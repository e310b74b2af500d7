import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { bySize, PAGE_BYTES } from '../main/peer/changes.js';
import { events } from '../main/server/entities.js';
import { validateRecord } from '../main/server/validate.js';
import { newRecordId } from '../main/store/ids.js';
import { createLowStore } from '../main/store/lowStore.js';
import { desks } from './helpers/desks.js';
import { requireBuiltCli } from './helpers/hostProcess.js';
import { createLan, netnsUnavailable, type Lan } from './helpers/netns.js';

// The hand-over's size: no message between desks is the whole calendar, nor a thousand records
// at their largest (which would pass the 16 MiB a desk message may carry).
const unavailable = await netnsUnavailable();

describe('pages by size', () => {
  it('cut a page where it would pass the limit, never leaving a page empty', () => {
    const big = (n: number) => ({ n, text: 'x'.repeat(1000) });
    const parts = bySize(Array.from({ length: 10 }, (_, i) => big(i)), 3500);
    expect(parts.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(parts.flat().map((c) => c.n)).toEqual([...Array(10).keys()]);
    expect(bySize([big(0)], 10)).toEqual([[big(0)]]);
    expect(bySize([])).toEqual([]);
    expect(PAGE_BYTES).toBeLessThan(16 * 1024 * 1024);
  });
});

describe.skipIf(unavailable !== undefined)('a hand-over of large records', () => {
  let lan: Lan;
  let dir: string;
  beforeEach(async () => {
    requireBuiltCli();
    lan = await createLan({ peers: 2 });
    dir = await mkdtemp(join(tmpdir(), 'lansched-big-'));
  });
  afterEach(async () => {
    await lan?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('joins a calendar whose thousand-record pages would be 22 MB each, in parts', async () => {
    // 1,100 events of about 20 KB each, as REST would have stored them.
    const store = await createLowStore({ dir, log: silentLogger });
    const body = (i: number) => ({
      text: `${i} ${'x'.repeat(9_990)}`,
      start_date: '2026-03-02 10:00',
      end_date: '2026-03-02 11:00',
      ...Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`note${k}`, 'y'.repeat(2_000)])),
    });
    for (let i = 0; i < 1100; i += 100) {
      await store.commit(Array.from({ length: 100 }, (_, j) => ({ entity: 'events', op: 'add' as const, record: { ...validateRecord(events.spec, body(i + j)), id: newRecordId() } })));
    }
    await store.close();
    const office = desks(lan);
    try {
      const a = await office.start(0, { dir });
      await expect.poll(() => a.role(), { timeout: 30_000, interval: 200 }).toBe('host');
      const b = await office.start(1);
      await expect.poll(() => b.role(), { timeout: 60_000, interval: 200 }).toBe('peer');
      const got = await b.events();
      expect(got).toHaveLength(1100);
      expect(new Set(got.map((e) => e.text.split(' ')[0])).size).toBe(1100);
    } catch (err) {
      console.log(office.dump());
      throw err;
    } finally {
      await office.cleanup();
    }
  });
});
