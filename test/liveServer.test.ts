import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anEvent, startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
});
afterEach(() => host.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('handshake', () => {
  it('answers api, data with the revision, websocket and a session key', async () => {
    const res = await host.call('GET', '/api/v1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      api: { sync: { revision: 1, changes: 1 } },
      data: { revision: 0, storeId: host.store.storeId },
      websocket: true,
    });
    expect(res.body.key).toMatch(/^k\./);
    expect(res.body.key).not.toContain(TOKEN);
  });

  it('refuses a missing token with 401 and a wrong one with 403, as JSON and nothing else', async () => {
    const missing = await fetch(`${host.base}/api/v1`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ action: 'error', message: expect.stringMatching(/Remote-Token/) });
    const wrong = await host.call('GET', '/api/v1', undefined, { 'Remote-Token': 'not-the-token' });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toEqual({ action: 'error', message: expect.any(String) });
  });
});

describe('data routes need the token', () => {
  it.each([
    ['GET', '/events'],
    ['POST', '/events'],
    ['PUT', '/events/x'],
    ['DELETE', '/events/x'],
    ['GET', '/gantt/data'],
    ['POST', '/gantt/task'],
    ['PUT', '/gantt/link/x'],
    ['DELETE', '/gantt/task/x'],
    ['GET', '/calendars'],
    ['POST', '/calendars'],
    ['GET', '/api/v1/changes?since=0'],
  ])('%s %s', async (method, path) => {
    const res = await fetch(host.base + path, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(anEvent()) });
    expect(res.status).toBe(401);
    const wrong = await host.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : anEvent(), { 'Remote-Token': 'wrong-token-value' });
    expect(wrong.status).toBe(403);
    expect(host.store.revision()).toBe(0);
  });
});

describe('scheduler events', () => {
  it('inserts, updates and deletes with the answers the data processor expects, broadcasting each', async () => {
    const a = await host.connect();
    const ins = await host.call('POST', '/events', anEvent({ room: 'B2' }));
    expect(ins).toMatchObject({ status: 200, body: { action: 'inserted', tid: expect.stringMatching(UUID) } });
    const id = ins.body.tid;
    expect((await a.inbox.next()).body).toEqual({
      name: 'events',
      value: { type: 'add-event', event: { ...anEvent({ room: 'B2' }), id }, rev: 1 },
    });
    // Durable before the answer: the journal already holds it.
    expect(await readFile(join(host.dir, 'changes.jsonl'), 'utf8')).toContain(id);

    const upd = await host.call('PUT', `/events/${id}`, anEvent({ text: 'Moved', start_date: '2026-03-03 09:00', end_date: '2026-03-03 10:00' }));
    expect(upd.body).toEqual({ action: 'updated' });
    expect((await a.inbox.next()).body.value).toMatchObject({ type: 'update-event', event: { id, text: 'Moved', start_date: '2026-03-03 09:00' } });

    expect((await host.call('DELETE', `/events/${id}`)).body).toEqual({ action: 'deleted' });
    expect((await a.inbox.next()).body.value).toEqual({ type: 'delete-event', event: { id }, rev: 3 });
    expect((await host.call('GET', '/events')).body).toEqual([]);
    expect((await host.call('PUT', `/events/${id}`, anEvent())).status).toBe(404);
    // A second delete of the same event is not an error, and announces nothing.
    expect((await host.call('DELETE', `/events/${id}`)).body).toEqual({ action: 'deleted' });
    expect(host.store.revision()).toBe(3);
  });

  it('gives every record a new globally unique id, whatever id the client sent', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await host.call('POST', '/events', anEvent({ id: 7 }))).body.tid);
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(UUID);
  });

  it('filters by from and to as dates, with a series and its exceptions kept together', async () => {
    const inMarch = (await host.call('POST', '/events', anEvent())).body.tid;
    await host.call('POST', '/events', anEvent({ start_date: '2026-05-01 10:00', end_date: '2026-05-01 11:00' }));
    const series = (await host.call('POST', '/events', anEvent({ start_date: '2026-01-05 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 900 }))).body.tid;
    const moved = (await host.call('POST', '/events', anEvent({ start_date: '2026-06-01 09:00', end_date: '2026-06-01 09:15', recurring_event_id: series, original_start: '2026-03-02 09:00' }))).body.tid;
    const res = await host.call('GET', '/events?from=2026-03-01&to=2026-04-01');
    expect(res.body.map((e: any) => e.id).sort()).toEqual([inMarch, series, moved].sort());
    expect(res.headers.get('x-revision')).toBe('4');
    expect((await host.call('GET', '/events?from=yesterday&to=2026-04-01')).status).toBe(400);
  });

  it('follows the Scheduler 7 recurring rules and announces what it changes on its own', async () => {
    const a = await host.connect();
    const series = (await host.call('POST', '/events', anEvent({ start_date: '2026-03-02 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=DAILY', duration: 900 }))).body.tid;
    const exception = (await host.call('POST', '/events', anEvent({ text: 'Later today', start_date: '2026-03-03 11:00', end_date: '2026-03-03 11:15', recurring_event_id: series, original_start: '2026-03-03 09:00' }))).body.tid;
    // A deleted occurrence is inserted like an exception, and the client expects "deleted".
    const gone = await host.call('POST', '/events', anEvent({ start_date: '2026-03-04 09:00', end_date: '2026-03-04 09:15', recurring_event_id: series, original_start: '2026-03-04 09:00', deleted: true }));
    expect(gone.body).toEqual({ action: 'deleted', tid: expect.stringMatching(UUID) });
    // Deleting a modified occurrence keeps it as a deleted marker.
    await host.call('DELETE', `/events/${exception}`);
    for (let i = 0; i < 3; i++) await a.inbox.next();
    expect((await a.inbox.next()).body.value).toMatchObject({ type: 'update-event', event: { id: exception, deleted: true } });
    // Editing the series removes all its exceptions, and says so.
    await host.call('PUT', `/events/${series}`, anEvent({ start_date: '2026-03-02 10:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=DAILY', duration: 1800 }));
    const after = [await a.inbox.next(), await a.inbox.next(), await a.inbox.next()].map((m) => m.body.value);
    expect(after[0]).toMatchObject({ type: 'update-event', event: { id: series, duration: 1800 } });
    expect(after.slice(1).map((v) => [v.type, v.event.id]).sort()).toEqual(
      [['delete-event', exception], ['delete-event', gone.body.tid]].sort(),
    );
    expect((await host.call('GET', '/events')).body.map((e: any) => e.id)).toEqual([series]);
    // Deleting a series takes its exceptions along.
    const another = (await host.call('POST', '/events', anEvent({ start_date: '2026-03-05 09:00', end_date: '2026-03-05 09:15', recurring_event_id: series, original_start: '2026-03-05 09:00', deleted: true }))).body.tid;
    await host.call('DELETE', `/events/${series}`);
    expect((await host.call('GET', '/events')).body).toEqual([]);
    const deletes = [await a.inbox.next(), await a.inbox.next(), await a.inbox.next()].map((m) => m.body.value);
    expect(deletes.filter((v) => v.type === 'delete-event').map((v) => v.event.id).sort()).toEqual([another, series].sort());
  });
});

describe('validation', () => {
  const rejects = async (method: string, path: string, body: unknown, status: number, message: RegExp, headers = {}) => {
    const a = await host.connect();
    const res = await host.call(method, path, body, headers);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ action: 'error', message: expect.stringMatching(message) });
    expect(host.store.revision()).toBe(0);
    expect((await host.call('GET', '/events')).body).toEqual([]);
    a.ws.send(JSON.stringify({ action: 'call', body: [{ id: 'x', name: 'sync.revision' }] }));
    expect((await a.inbox.next()).action).toBe('result'); // nothing was broadcast before it
  };

  it('accepts JSON only, bounded in size', async () => {
    await rejects('POST', '/events', 'text=hi', 415, /application\/json/, { 'Content-Type': 'application/x-www-form-urlencoded' });
    await rejects('POST', '/events', '{"text": "unclosed', 400, /not valid JSON/);
    await rejects('POST', '/events', anEvent({ text: 'x'.repeat(70 * 1024) }), 413, /larger than 64 KiB/);
    await rejects('POST', '/events', '[1,2]', 400, /JSON object/);
  });

  it('checks required fields and dates', async () => {
    await rejects('POST', '/events', { text: 'x', start_date: '2026-03-02 10:00' }, 400, /end_date is required/);
    await rejects('POST', '/events', anEvent({ start_date: '2026-02-30 10:00' }), 400, /start_date must be a date/);
    await rejects('POST', '/events', anEvent({ start_date: 'tomorrow' }), 400, /start_date must be a date/);
    await rejects('POST', '/events', anEvent({ end_date: '2026-03-01 10:00' }), 400, /before start_date/);
    await rejects('POST', '/events', anEvent({ duration: 'long' }), 400, /duration must be a number/);
    await rejects('POST', '/events', anEvent({ color: 'red;background:url(x)' }), 400, /colour/);
    await rejects('POST', '/events', anEvent({ rrule: 'FREQ=DAILY<script>' }), 400, /RRULE/);
    await rejects('POST', '/calendars', { color: '#fff' }, 400, /name is required/);
    await rejects('POST', '/calendars', { name: 'Room', color: '' }, 400, /color is required/);
    await rejects('POST', '/gantt/link', { source: 'a', target: 'b' }, 400, /type is required/);
  });

  it('takes the editor\'s empty fields as empty, and skips its bookkeeping fields', async () => {
    // What the Scheduler's lightbox really sends for a new, plain event.
    const body = { start_date: '2026-11-24 10:00', end_date: '2026-11-24 11:00', text: 'Planning', rrule: '', original_start: null, recurring_event_id: null, duration: null, deleted: null, $new: true, calendar_id: '' };
    const res = await host.call('POST', '/events', body);
    expect(res.body).toEqual({ action: 'inserted', tid: expect.stringMatching(UUID) });
    expect(host.store.get('events', res.body.tid)).toEqual({ id: res.body.tid, start_date: '2026-11-24 10:00', end_date: '2026-11-24 11:00', text: 'Planning', rrule: '', original_start: null, recurring_event_id: null, duration: null, deleted: false, calendar_id: null });
  });

  it('keeps __proto__ and constructor away from any prototype', async () => {
    await rejects('POST', '/events', '{"text":"x","start_date":"2026-03-02 10:00","end_date":"2026-03-02 11:00","__proto__":{"polluted":1}}', 400, /__proto__/);
    await rejects('POST', '/events', anEvent({ constructor: { prototype: { polluted: 1 } } }), 400, /constructor/);
    expect(({} as any).polluted).toBeUndefined();
  });

  it('keeps unknown fields, within bounds', async () => {
    const extra = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, i]));
    await rejects('POST', '/events', anEvent(extra), 400, /more than 32 extra fields/);
    await rejects('POST', '/events', anEvent({ nested: { a: 1 } }), 400, /nested must be text/);
    await rejects('POST', '/events', anEvent({ 'bad key': 1 }), 400, /field name/);
    const ok = await host.call('POST', '/events', anEvent({ room: 'B2', seats: 4, remote: true }));
    expect(host.store.get('events', ok.body.tid)).toMatchObject({ room: 'B2', seats: 4, remote: true });
  });

  it('stores text so that it renders as text: markup is escaped', async () => {
    const a = await host.connect();
    const { body } = await host.call('POST', '/events', anEvent({ text: '<img src=x onerror=alert(1)>', note: '"quoted" & \'single\'' }));
    const stored = host.store.get('events', body.tid)!;
    expect(stored.text).toBe('&#60;img src=x onerror=alert(1)&#62;');
    expect(stored.note).toBe('&#34;quoted&#34; &#38; &#39;single&#39;');
    expect(JSON.stringify((await a.inbox.next()).body)).not.toMatch(/[<>]/);
  });

  it('checks ids in paths', async () => {
    const res = await host.call('PUT', `/events/${'x'.repeat(200)}`, anEvent());
    expect(res).toMatchObject({ status: 400, body: { action: 'error' } });
  });
});

describe('gantt and custom entities on the same server', () => {
  it('serves tasks and links with their live messages, and cascades a task delete', async () => {
    const a = await host.connect(['tasks', 'links']);
    const parent = (await host.call('POST', '/gantt/task', { text: 'Move office', start_date: '2026-03-02T00:00:00.000Z', duration: 5, parent: 0, progress: 0 })).body;
    expect(parent).toEqual({ action: 'inserted', tid: expect.stringMatching(UUID) });
    const child = (await host.call('POST', '/gantt/task', { text: 'Pack', start_date: '2026-03-02T00:00:00.000Z', duration: 2, parent: parent.tid })).body.tid;
    const other = (await host.call('POST', '/gantt/task', { text: 'Party', start_date: '2026-03-09T00:00:00.000Z', duration: 1, parent: 0 })).body.tid;
    const link = (await host.call('POST', '/gantt/link', { source: child, target: other, type: '0' })).body.tid;
    expect((await host.call('PUT', `/gantt/task/${other}`, { text: 'Party!', start_date: '2026-03-10T00:00:00.000Z', duration: 1, parent: 0 })).body).toEqual({ action: 'updated' });
    const data = (await host.call('GET', '/gantt/data')).body;
    expect(data.data).toHaveLength(3);
    expect(data.links).toEqual([{ source: child, target: other, type: '0', id: link }]);
    const types = [];
    for (let i = 0; i < 5; i++) types.push((await a.inbox.next()).body.value.type);
    expect(types).toEqual(['add-task', 'add-task', 'add-task', 'add-link', 'update-task']);
    expect((await host.call('DELETE', `/gantt/task/${parent.tid}`)).body).toEqual({ action: 'deleted' });
    const gone = [await a.inbox.next(), await a.inbox.next(), await a.inbox.next()].map((m) => m.body.value);
    expect(gone).toEqual([
      { type: 'delete-link', link: { id: link }, rev: 6 },
      { type: 'delete-task', task: { id: child }, rev: 7 },
      { type: 'delete-task', task: { id: parent.tid }, rev: 8 },
    ]);
    expect((await host.call('GET', '/gantt/data')).body).toEqual({ data: [expect.objectContaining({ id: other })], links: [] });
  });

  it('stores calendars with REST and live messages, and publishes any entity from the server', async () => {
    const a = await host.connect(['calendars', 'presence']);
    const cal = (await host.call('POST', '/calendars', { name: 'Room <A>', color: '#22c55e' })).body.tid;
    expect((await a.inbox.next()).body).toEqual({ name: 'calendars', value: { type: 'add-calendar', value: { id: cal, name: 'Room &#60;A&#62;', color: '#22c55e' }, rev: 1 } });
    await host.call('PUT', `/calendars/${cal}`, { name: 'Room A', color: '#16a34a' });
    expect((await a.inbox.next()).body.value.type).toBe('update-calendar');
    expect((await host.call('GET', '/calendars')).body).toEqual([{ id: cal, name: 'Room A', color: '#16a34a' }]);
    expect(host.server.publish('presence', { type: 'online', value: { name: 'Ada' } })).toBe(1);
    expect((await a.inbox.next()).body).toEqual({ name: 'presence', value: { type: 'online', value: { name: 'Ada' } } });
  });
});

describe('catching up', () => {
  it('answers the changes after a revision as the live messages that were sent', async () => {
    const first = (await host.call('POST', '/events', anEvent())).body.tid;
    const second = (await host.call('POST', '/events', anEvent({ text: 'Two' }))).body.tid;
    await host.call('DELETE', `/events/${first}`);
    const res = await host.call('GET', `/api/v1/changes?since=1&store=${host.store.storeId}`);
    expect(res.body).toEqual({
      reload: false,
      revision: 3,
      storeId: host.store.storeId,
      changes: [
        { rev: 2, name: 'events', value: { type: 'add-event', event: { ...anEvent({ text: 'Two' }), id: second }, rev: 2 } },
        { rev: 3, name: 'events', value: { type: 'delete-event', event: { id: first }, rev: 3 } },
      ],
    });
    expect((await host.call('GET', '/api/v1/changes?since=3')).body).toMatchObject({ reload: false, changes: [] });
  });

  it('says to reload for another store, a future revision, and rejects a bad one', async () => {
    expect((await host.call('GET', '/api/v1/changes?since=0&store=other')).body).toMatchObject({ reload: true, reason: 'unknown-store' });
    expect((await host.call('GET', '/api/v1/changes?since=99')).body).toMatchObject({ reload: true, reason: 'unknown-store' });
    expect((await host.call('GET', '/api/v1/changes?since=-1')).status).toBe(400);
    expect((await host.call('GET', '/api/v1/changes')).status).toBe(400);
  });
});

describe('the page', () => {
  it('is served at / with a CSP that forbids inline script', async () => {
    const res = await fetch(`${host.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
