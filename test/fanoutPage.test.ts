import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { anEvent } from './helpers/liveHost.js';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { TOKEN } from './helpers/liveHost.js';
import type { ChangeRequest } from '../main/store/types.js';

// Batched fan-out in a real browser: several protocol frames in one socket write reach the page
// (the shipped RemoteEvents client and our live sync) as separate messages, each applied once.
declare const scheduler: any;

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
const suite = browserSuite({ artifacts: ARTIFACTS });
const WAIT = { timeout: 10_000 };

const textsIn = (page: Page) =>
  page.evaluate(() => (scheduler.getEvents(new Date(2026, 2, 2), new Date(2026, 2, 9)) as { text: string }[]).map((e) => e.text).sort());

describe('batched live messages in the page', () => {
  it('applies every message of a batch once, in order: a burst of inserts, then updates and deletes of them', async () => {
    const w = await suite.window();
    const sockets: string[] = [];
    w.page.on('websocket', (ws) => sockets.push(ws.url()));
    await openCalendar(w.page, suite.host.base, TOKEN);
    const reloads: string[] = [];
    w.page.on('request', (req) => {
      if (/\/events(\?|$)|\/api\/v1\/changes/.test(req.url())) reloads.push(req.url());
    });
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
    // The week's month either side loads in the background (two gaps, one after the other; ranges.ts):
    // that is not a reload, so counting starts once it has been asked for.
    await expect.poll(() => reloads.filter((u) => u.includes('from=2026-01-26') || u.includes('to=2026-04-13')).length, WAIT).toBe(2);
    reloads.length = 0;

    // One commit of 30 changes: announced together, one batch, one write of 30 frames.
    const { store, server } = suite.host;
    const adds: ChangeRequest[] = Array.from({ length: 30 }, (_, i) => ({
      entity: 'events',
      op: 'add',
      record: { id: `burst-${i}`, text: `Burst ${String(i).padStart(2, '0')}`, start_date: '2026-03-03 09:00', end_date: '2026-03-03 10:00' },
    }));
    server.announce(await store.commit(adds));
    // And a dozen REST writes at once, which share the window's batch.
    await Promise.all(Array.from({ length: 12 }, (_, i) => suite.host.call('POST', '/events', anEvent({ text: `Rest ${String(i).padStart(2, '0')}`, start_date: '2026-03-04 11:00', end_date: '2026-03-04 12:00' }))));
    const expected = [...adds.map((a) => a.record.text as string), ...Array.from({ length: 12 }, (_, i) => `Rest ${String(i).padStart(2, '0')}`)].sort();
    await expect.poll(() => textsIn(w.page), WAIT).toEqual(expected);

    // Every insert updated, then every other one deleted, each burst in one commit: the page ends
    // with exactly the store's events (a message applied twice, skipped or out of order would show).
    const renamed = adds.map((a): ChangeRequest => ({ ...a, op: 'update', record: { ...a.record, text: `${a.record.text} (moved)` } }));
    server.announce(await store.commit(renamed));
    server.announce(await store.commit(adds.filter((_, i) => i % 2 === 0).map((a): ChangeRequest => ({ ...a, op: 'delete', record: { id: a.record.id } }))));
    const stored = () => store.list('events').map((e) => e.text as string).sort();
    await expect.poll(() => textsIn(w.page), WAIT).toEqual(stored());
    expect(stored().filter((t) => t.endsWith('(moved)'))).toHaveLength(15);

    // All of it came live over the one socket: no reconnect, no reload, no catch-up.
    expect(sockets).toHaveLength(1);
    expect(reloads).toEqual([]);
    expect(w.problems).toEqual([]);
  });
});
