// The Scheduler's writes without Express: what the fast path takes, what it leaves to Express, and
// that both answer alike (status, body, headers) over the real live server.
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { createTokenAuth } from '../main/server/auth.js';
import { createFastWrites } from '../main/server/fastWrites.js';
import { PAGE_HEADERS } from '../main/server/liveServer.js';
import { createRecordService } from '../main/server/records.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { Change, Store } from '../main/store/types.js';
import { anEvent, startTestHost, TOKEN } from './helpers/liveHost.js';

/** One raw HTTP request; `chunked` sends the body without a Content-Length. */
function send(port: number, method: string, path: string, o: { body?: string; headers?: Record<string, string>; chunked?: boolean } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Remote-Token': TOKEN, ...o.headers };
    if (o.body !== undefined) Object.assign(headers, o.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': Buffer.byteLength(o.body) });
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) req.write(o.body);
    req.end(o.body !== undefined && !o.chunked ? o.body : undefined);
  });
}

describe('which requests the fast path takes', () => {
  let dir: string;
  let store: Store;
  let server: Server;
  let port: number;
  const announced: Change[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lansched-fast-'));
    store = await createLowStore({ dir, log: silentLogger });
    const records = createRecordService(store, (changes) => announced.push(...changes));
    const fast = createFastWrites({ auth: createTokenAuth(TOKEN), records, log: silentLogger, headers: PAGE_HEADERS, bodyBytes: 64 * 1024 });
    // Whatever the fast path leaves is answered here, so the test sees which way it went.
    server = createServer((req, res) => {
      if (!fast(req, res)) res.writeHead(299).end('express');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    announced.length = 0;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const json = { 'Content-Type': 'application/json' };

  it('takes plain inserts, updates and deletes of events, durable and announced before the answer', async () => {
    const added = await send(port, 'POST', '/events', { body: JSON.stringify(anEvent()), headers: json });
    expect(added.status).toBe(200);
    const { tid } = JSON.parse(added.text);
    expect(store.get('events', tid)).toMatchObject({ text: 'Standup' });
    expect(announced.map((c) => c.op)).toEqual(['add']);
    const updated = await send(port, 'PUT', `/events/${tid}`, { body: JSON.stringify(anEvent({ text: 'Moved' })), headers: { 'Content-Type': 'application/json; charset=UTF-8' } });
    expect(JSON.parse(updated.text)).toEqual({ action: 'updated' });
    expect((await send(port, 'DELETE', `/events/${tid}`)).text).toBe('{"action":"deleted"}');
    expect(announced.map((c) => c.op)).toEqual(['add', 'update', 'delete']);
    expect(store.get('events', tid)).toBeUndefined();
  });

  it('answers a body that is not JSON, or not an object, itself, and changes nothing', async () => {
    for (const body of ['{"text": "unclosed', '"just text"', '   ', '42']) {
      const res = await send(port, 'POST', '/events', { body, headers: json });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toEqual({ action: 'error', message: 'the body is not valid JSON' });
    }
    const empty = await send(port, 'POST', '/events', { body: '', headers: json });
    expect(JSON.parse(empty.text)).toEqual({ action: 'error', message: expect.stringMatching(/is required/) });
    expect(store.revision()).toBe(0);
    expect(announced).toEqual([]);
  });

  it('drops a request whose body is cut short, changes nothing, and goes on', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nRemote-Token: ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"text":`);
    socket.destroy();
    await once(socket, 'close');
    const next = await send(port, 'POST', '/events', { body: JSON.stringify(anEvent()), headers: json });
    expect(next.status).toBe(200);
    expect(store.revision()).toBe(1);
  });

  it('leaves everything else to Express', async () => {
    const body = JSON.stringify(anEvent());
    const left = [
      send(port, 'POST', '/events', { body, headers: { ...json, 'Remote-Token': 'wrong-token-000' } }),
      send(port, 'POST', '/events', { body, headers: { ...json, 'Remote-Token': '' } }),
      send(port, 'POST', '/events', { body, headers: { 'Content-Type': 'text/plain' } }),
      send(port, 'POST', '/events', { body, headers: { 'Content-Type': 'application/json; charset=latin1' } }),
      send(port, 'POST', '/events', { body, headers: json, chunked: true }),
      send(port, 'POST', '/events', { body, headers: { ...json, 'Content-Encoding': 'gzip' } }),
      send(port, 'POST', '/events', { body: 'x'.repeat(70 * 1024), headers: json }),
      send(port, 'POST', '/events?x=1', { body, headers: json }),
      send(port, 'POST', '/events/abc', { body, headers: json }),
      send(port, 'PUT', '/events', { body, headers: json }),
      send(port, 'PUT', '/events/a%20b', { body, headers: json }),
      send(port, 'DELETE', '/events/abc', { body: '{}', headers: json }),
      send(port, 'GET', '/events'),
      send(port, 'POST', '/eventsx', { body, headers: json }),
      send(port, 'POST', '/gantt/task', { body, headers: json }),
    ];
    for (const res of await Promise.all(left)) expect(res).toMatchObject({ status: 299, text: 'express' });
    expect(store.revision()).toBe(0);
  });
});

describe('the fast path and Express answer alike', () => {
  it('with the same status, body and headers, for answers and refusals', async () => {
    const host = await startTestHost();
    try {
      const port = host.port;
      const json = { 'Content-Type': 'application/json' };
      // A chunked body is left to Express; the same request with a length is taken by the fast path.
      const both = async (method: string, path: string, body?: string) => {
        const fast = await send(port, method, path, { body, headers: json });
        const express = await send(port, method, path, { body, headers: json, chunked: body !== undefined });
        return { fast, express };
      };
      const same = ({ fast, express }: Awaited<ReturnType<typeof both>>, sameBody = true) => {
        expect(fast.status).toBe(express.status);
        if (sameBody) expect(fast.text).toBe(express.text);
        const comparable = (h: Record<string, unknown>) => {
          const { date: _date, 'content-length': _length, 'transfer-encoding': _te, ...rest } = h;
          return rest;
        };
        expect(comparable(fast.headers)).toEqual(comparable(express.headers));
        expect(fast.headers['content-security-policy']).toBe(PAGE_HEADERS['Content-Security-Policy']);
      };
      const inserted = await both('POST', '/events', JSON.stringify(anEvent()));
      same(inserted, false);
      const [a, b] = [JSON.parse(inserted.fast.text).tid, JSON.parse(inserted.express.text).tid];
      expect(JSON.parse(inserted.express.text)).toEqual({ action: 'inserted', tid: expect.any(String) });
      same(await both('PUT', `/events/${a}`, JSON.stringify(anEvent({ text: 'x' }))));
      same(await both('PUT', '/events/nosuchevent', JSON.stringify(anEvent())));
      same(await both('POST', '/events', '{"text": "unclosed'));
      same(await both('POST', '/events', JSON.stringify({ text: 'no dates' })));
      same(await both('PUT', `/events/${b}`, JSON.stringify(anEvent({ end_date: '2020-01-01 00:00' }))));
      const fastDelete = await send(port, 'DELETE', `/events/${a}`);
      const expressDelete = await send(port, 'DELETE', `/events/${b}`, { body: '', headers: json, chunked: true });
      same({ fast: fastDelete, express: expressDelete });
      expect(host.store.list('events')).toEqual([]);
    } finally {
      await host.close();
    }
  });
});
