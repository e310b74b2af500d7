// The socket hub under load, on its own HTTP server so that a test reads the hub's own accounting:
// backpressure on clients that never read, bounded work per frame, batched fan-out.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../main/log.js';
import { MAX_CALLS, type RpcMethods } from '../main/server/rpc.js';
import { createSocketHub, type SocketHubOptions } from '../main/server/socketHub.js';
import { closed, messageQueue } from './helpers/liveHost.js';

/** A hub on its own HTTP server on port 0, so a test can read the hub's own accounting. */
async function startHub(options: Partial<SocketHubOptions> & { methods?: RpcMethods } = {}) {
  const hub = createSocketHub({ checkKey: () => true, methods: {}, log: silentLogger, ...options });
  const http = createServer((_req, res) => res.end());
  http.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const sockets: WebSocket[] = [];
  return {
    hub,
    async connect(names: string[]) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1?token=k&ws=1`, { perMessageDeflate: false });
      sockets.push(ws);
      const inbox = messageQueue(ws);
      await inbox.next((m) => m.action === 'start');
      for (const name of names) ws.send(JSON.stringify({ action: 'subscribe', name }));
      ws.send(JSON.stringify({ action: 'call', body: [{ id: 'ping', name: 'nope', args: [] }] }));
      await inbox.next((m) => m.action === 'result');
      return { ws, inbox };
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await hub.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('backpressure: a client that never reads', () => {
  const CAP = 512 * 1024;

  it('is dropped before the host holds more than the cap for it, and was never fed part of the stream', async () => {
    const h = await startHub({ maxBufferedBytes: CAP });
    try {
      const slow = await h.connect(['news']);
      const received: number[] = [];
      slow.ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.action === 'event') received.push(msg.body.value.n);
      });
      (slow.ws as any)._socket.pause(); // reads nothing from here on
      const fast = await h.connect(['news']);
      const big = 'x'.repeat(32 * 1024);
      let sent = 0;
      // Far more than the kernel's buffers and the cap together; stops once the slow one is gone.
      for (; sent < 4000 && h.hub.stats().droppedSlow === 0; sent++) {
        h.hub.publish('news', { n: sent, big });
        expect(h.hub.stats().maxClientBufferedBytes).toBeLessThanOrEqual(CAP);
        if (sent % 8 === 0) await turn();
      }
      expect(h.hub.stats()).toMatchObject({ clients: 1, droppedSlow: 1 });
      expect(h.hub.stats().peakClientBufferedBytes).toBeLessThanOrEqual(CAP);
      h.hub.publish('news', { n: sent, big: '' });
      // The reader got everything, in order.
      await fast.inbox.next((m) => m.body?.value?.n === sent, 10_000);
      const got = fast.inbox.seen.filter((m) => m.action === 'event').map((m) => m.body.value.n);
      expect(got).toEqual(Array.from({ length: sent }, (_, i) => i));
      // What reached the slow one before it was dropped is a prefix: nothing was skipped.
      (slow.ws as any)._socket.resume();
      await closed(slow.ws, 10_000);
      expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i));
      expect(received.length).toBeLessThan(sent);
    } finally {
      await h.close();
    }
  });

  it('is dropped when call results pile up unread, and one frame asks for a bounded page', async () => {
    const big = 'y'.repeat(8 * 1024);
    const methods: RpcMethods = { 'sync.page': () => ({ changes: Array.from({ length: 60 }, (_, i) => ({ i, big })) }) };
    const h = await startHub({ maxBufferedBytes: CAP * 4, methods });
    try {
      const reader = await h.connect([]);
      const slow = await h.connect([]);
      (slow.ws as any)._socket.pause();
      const frame = JSON.stringify({ action: 'call', body: Array.from({ length: MAX_CALLS }, (_, i) => ({ id: i, name: 'sync.page', args: [] })) });
      for (let i = 0; i < 400 && h.hub.stats().droppedSlow === 0; i++) {
        slow.ws.send(frame);
        await turn();
      }
      await expect.poll(() => h.hub.stats().droppedSlow, { timeout: 10_000 }).toBe(1);
      expect(h.hub.stats().clients).toBe(1);
      expect(h.hub.stats().peakClientBufferedBytes).toBeLessThanOrEqual(CAP * 4);
      // The other client is served as before.
      reader.ws.send(JSON.stringify({ action: 'call', body: [{ id: 'r', name: 'sync.page', args: [] }] }));
      expect((await reader.inbox.next((m) => m.action === 'result')).body[0].data.changes).toHaveLength(60);
    } finally {
      await h.close();
    }
  });

  it('gets a retained message or an error frame only within the cap too', async () => {
    const h = await startHub({ maxBufferedBytes: CAP });
    try {
      h.hub.publish('state', { blob: 'z'.repeat(64 * 1024) }, { retain: true });
      const slow = await h.connect([]);
      (slow.ws as any)._socket.pause();
      for (let i = 0; i < 2000 && h.hub.stats().droppedSlow === 0; i++) {
        slow.ws.send(JSON.stringify({ action: 'unsubscribe', name: 'state' }));
        slow.ws.send(JSON.stringify({ action: 'subscribe', name: 'state' }));
        slow.ws.send('{not json');
        if (i % 4 === 0) await turn();
      }
      await expect.poll(() => h.hub.stats().droppedSlow, { timeout: 10_000 }).toBe(1);
      expect(h.hub.stats().peakClientBufferedBytes).toBeLessThanOrEqual(CAP);
    } finally {
      await h.close();
    }
  });
});

describe('bounded work per frame', () => {
  it('answers every call of a frame with too many with an error and runs none; a huge batch gets one error frame', async () => {
    let ran = 0;
    const h = await startHub({ methods: { 'count.up': () => ++ran } });
    try {
      const a = await h.connect([]);
      const calls = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `c${i}`, name: 'count.up', args: [] }));
      a.ws.send(JSON.stringify({ action: 'call', body: calls(MAX_CALLS) }));
      expect((await a.inbox.next((m) => m.action === 'result')).body.map((r: any) => r.data)).toEqual([1, 2, 3, 4].slice(0, MAX_CALLS));
      a.ws.send(JSON.stringify({ action: 'call', body: calls(MAX_CALLS + 1) }));
      const refused = await a.inbox.next((m) => m.action === 'result');
      expect(refused.body).toHaveLength(MAX_CALLS + 1);
      expect(refused.body[0]).toEqual({ id: 'c0', data: null, error: expect.stringMatching(`at most ${MAX_CALLS} calls`) });
      a.ws.send(JSON.stringify({ action: 'call', body: calls(500) }));
      expect((await a.inbox.next((m) => m.action === 'error')).body.message).toMatch(/1 to 4 calls/);
      expect(ran).toBe(MAX_CALLS);
    } finally {
      await h.close();
    }
  });
});

/** Write system calls this process has made (Linux); null elsewhere. */
const writeCalls = (): number | null => {
  try {
    return Number(/^syscw:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return null;
  }
};

describe('batched fan-out', () => {
  it('writes a burst to each socket in a few writes; every socket reads every message once, in order, each in its own frame', async () => {
    const h = await startHub({ fanoutWindowMs: 10 });
    try {
      const readers = await Promise.all(Array.from({ length: 20 }, () => h.connect(['news'])));
      const before = writeCalls();
      // One turn: one batch, framed once, written once to each socket.
      for (let n = 0; n < 50; n++) h.hub.publish('news', { n });
      await Promise.all(readers.map((r) => r.inbox.next((m) => m.body?.value?.n === 49)));
      const after = writeCalls();
      for (const r of readers) {
        const got = [...r.inbox.seen.filter((m) => m.action === 'event').map((m) => m.body.value.n), 49];
        expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
      // 1,000 deliveries; one write each would be 1,000 write calls.
      if (before !== null && after !== null) expect(after - before).toBeLessThan(200);
    } finally {
      await h.close();
    }
  });

  it('keeps the order of publishing across channels for a client subscribed to several', async () => {
    const h = await startHub({ fanoutWindowMs: 10 });
    try {
      const both = await h.connect(['events', 'calendars']);
      const one = await h.connect(['calendars']);
      h.hub.publish('events', { rev: 1 });
      h.hub.publish('calendars', { rev: 2 });
      h.hub.publish('events', { rev: 3 });
      h.hub.publish('calendars', { rev: 4 });
      await both.inbox.next((m) => m.body?.value?.rev === 4);
      await one.inbox.next((m) => m.body?.value?.rev === 4);
      expect(both.inbox.seen.filter((m) => m.action === 'event').map((m) => [m.body.name, m.body.value.rev])).toEqual([
        ['events', 1],
        ['calendars', 2],
        ['events', 3],
      ]);
      expect(one.inbox.seen.filter((m) => m.action === 'event').map((m) => m.body.value.rev)).toEqual([2]);
    } finally {
      await h.close();
    }
  });

  it('gives a client that subscribes while a batch waits the latest retained message once, and older ones never', async () => {
    const h = await startHub({ fanoutWindowMs: 1000 });
    try {
      const early = await h.connect(['presence']);
      h.hub.publish('presence', { v: 1 }, { retain: true }); // after a quiet spell: at once
      await early.inbox.next((m) => m.body?.value?.v === 1);
      h.hub.publish('presence', { v: 2 }, { retain: true }); // waits for the window
      const late = await h.connect(['presence']);
      await early.inbox.next((m) => m.body?.value?.v === 2);
      h.hub.publish('presence', { v: 3 }, { retain: true });
      await h.hub.close(); // sends what waits
      await late.inbox.next((m) => m.body?.value?.v === 3);
      const seen = late.inbox.seen.filter((m) => m.action === 'event').map((m) => m.body.value.v);
      expect(seen.filter((v) => v === 1)).toEqual([]);
      expect(seen.filter((v) => v === 2)).toEqual([2]);
    } finally {
      await h.close();
    }
  });

  it('refuses a window it cannot honour', () => {
    expect(() => createSocketHub({ checkKey: () => true, methods: {}, log: silentLogger, fanoutWindowMs: -1 })).toThrow(TypeError);
  });
});
