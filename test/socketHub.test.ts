// The socket side of the live server: upgrade rules, subscriptions, calls, bad frames, slow clients
// (the hub's own accounting under load is in socketHubLoad.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { anEvent, closed, messageQueue, startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
});
afterEach(() => host.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const openSocket = (url: string, headers: Record<string, string> = {}) => new WebSocket(url, { headers });
const refusedStatus = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));

describe('socket', () => {
  it('starts with a unique connection id, and the same key works again after a reconnect', async () => {
    const a = await host.connect();
    expect(a.start).toEqual({ action: 'start', body: expect.stringMatching(UUID) });
    a.ws.close();
    const again = openSocket(`ws://127.0.0.1:${host.port}/api/v1?token=${a.key}&ws=1`);
    const start = await messageQueue(again).next();
    expect(start.action).toBe('start');
    expect(start.body).not.toBe(a.start.body);
    again.close();
  });

  it('accepts the upgrade only at /api/v1 with ws=1', async () => {
    const { body } = await host.call('GET', '/api/v1');
    expect(await refusedStatus(openSocket(`ws://127.0.0.1:${host.port}/other?token=${body.key}&ws=1`))).toBe(404);
    expect(await refusedStatus(openSocket(`ws://127.0.0.1:${host.port}/api/v1?token=${body.key}`))).toBe(404);
  });

  it('closes with 1008 for a bad key, and for the long-lived token itself', async () => {
    for (const token of ['k.forged.key', TOKEN, '']) {
      const ws = openSocket(`ws://127.0.0.1:${host.port}/api/v1?token=${encodeURIComponent(token)}&ws=1`);
      expect((await closed(ws)).code).toBe(1008);
    }
  });

  it('refuses foreign origins and lets the page itself and non-browser clients in', async () => {
    const { body } = await host.call('GET', '/api/v1');
    const url = `ws://127.0.0.1:${host.port}/api/v1?token=${body.key}&ws=1`;
    expect(await refusedStatus(openSocket(url, { Origin: 'http://evil.example' }))).toBe(403);
    for (const headers of [{ Origin: `http://127.0.0.1:${host.port}` }, {}] as Record<string, string>[]) {
      const ws = openSocket(url, headers);
      expect((await messageQueue(ws).next()).action).toBe('start');
      ws.close();
    }
  });

  it('delivers a broadcast only to subscribers of its entity', async () => {
    const events = await host.connect(['events']);
    const tasks = await host.connect(['tasks']);
    await host.call('POST', '/events', anEvent());
    await host.call('POST', '/gantt/task', { text: 'T', start_date: '2026-03-02 00:00', duration: 1 });
    expect((await events.inbox.next()).body.name).toBe('events');
    // The task message is the first thing the tasks socket gets: it never saw the event.
    expect((await tasks.inbox.next()).body.name).toBe('tasks');
    expect(events.inbox.seen).toEqual([]);
  });

  it('unsubscribes by name, and tolerates the client\'s nameless unsubscribe', async () => {
    const a = await host.connect(['events', 'calendars']);
    a.ws.send(JSON.stringify({ action: 'unsubscribe', name: 'events' }));
    a.ws.send(JSON.stringify({ action: 'unsubscribe', key: 'calendars' }));
    a.ws.send(JSON.stringify({ action: 'unsubscribe' }));
    a.ws.send(JSON.stringify({ action: 'subscribe', name: 'tasks' }));
    await host.call('POST', '/events', anEvent());
    await host.call('POST', '/calendars', { name: 'Room A', color: '#3b82f6' });
    await host.call('POST', '/gantt/task', { text: 'T', start_date: '2026-03-02 00:00', duration: 1 });
    expect((await a.inbox.next((m) => m.action === 'event')).body.name).toBe('tasks');
    expect(a.inbox.seen.filter((m) => m.action === 'event')).toEqual([]);
  });

  it('answers calls with results; an unknown method is an error result, not a crash', async () => {
    const a = await host.connect();
    a.ws.send(JSON.stringify({
      action: 'call',
      body: [
        { id: '1', name: 'sync.revision', args: [] },
        { id: '2', name: 'nope.nothing', args: [] },
        { id: '3', name: 'sync.changes', args: ['x'] },
      ],
    }));
    const result = await a.inbox.next((m) => m.action === 'result');
    expect(result.body).toEqual([
      { id: '1', data: { revision: 0, storeId: host.store.storeId } },
      { id: '2', data: null, error: 'unknown method nope.nothing' },
      { id: '3', data: null, error: expect.stringMatching(/since/) },
    ]);
  });

  it('answers malformed frames with an error frame and closes on binary or oversized ones; others go on', async () => {
    const bystander = await host.connect();
    const a = await host.connect();
    a.ws.send('{not json');
    expect(await a.inbox.next((m) => m.action === 'error')).toEqual({ action: 'error', body: { message: 'malformed JSON' } });
    a.ws.send(JSON.stringify({ action: 'subscribe', name: '../../etc' }));
    expect((await a.inbox.next((m) => m.action === 'error')).body.message).toMatch(/entity name/);
    a.ws.send(JSON.stringify({ action: 'launch' }));
    expect((await a.inbox.next((m) => m.action === 'error')).body.message).toMatch(/unknown action/);
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await closed(a.ws)).code).toBe(1003);
    const b = await host.connect();
    b.ws.send('x'.repeat(70 * 1024));
    expect((await closed(b.ws)).code).toBe(1009);
    await host.call('POST', '/events', anEvent());
    expect((await bystander.inbox.next()).body.value.type).toBe('add-event');
  });
});

describe('dead and slow clients', () => {
  it('drops a client that stops answering pings', async () => {
    await host.close();
    host = await startTestHost({ heartbeatMs: 50 });
    const a = await host.connect();
    (a.ws as any)._socket.pause(); // reads nothing, so never sees the ping nor answers it
    await expect.poll(() => host.server.clientCount(), { timeout: 3000 }).toBe(0);
  });

  it('drops a client whose unsent data passes the cap, instead of buffering without end', async () => {
    await host.close();
    host = await startTestHost({ maxBufferedBytes: 256 * 1024 });
    const slow = await host.connect(['news']);
    (slow.ws as any)._socket.pause();
    const fast = await host.connect(['news']);
    const big = 'x'.repeat(60 * 1024);
    for (let i = 0; i < 400 && host.server.clientCount() > 1; i++) {
      host.server.publish('news', { type: 'notice', value: big });
      await new Promise((r) => setImmediate(r));
    }
    expect(host.server.clientCount()).toBe(1);
    host.server.publish('news', { type: 'notice', value: 'still here' });
    await fast.inbox.next((m) => m.body?.value?.value === 'still here');
  });
});

describe('retained messages', () => {
  it('gives a retained message to whoever subscribes later, and only the latest one', async () => {
    host.server.publish('presence', { type: 'update-presence', value: { desks: ['ada'] } }, { retain: true });
    host.server.publish('presence', { type: 'update-presence', value: { desks: ['ada', 'bob'] } }, { retain: true });
    const late = await host.connect(['presence']);
    const first = late.inbox.seen.find((m) => m.action === 'event') ?? (await late.inbox.next((m) => m.action === 'event'));
    expect(first.body).toEqual({ name: 'presence', value: { type: 'update-presence', value: { desks: ['ada', 'bob'] } } });
    expect(late.inbox.seen.filter((m) => m.action === 'event' && m !== first)).toEqual([]);
  });
});
