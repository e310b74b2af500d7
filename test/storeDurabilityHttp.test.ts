// A store's refusals (a full or failing disk, its record limit) as the HTTP answers a client gets,
// while reads and live updates go on (the store's side: storeDurability.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../main/log.js';
import { calendarAppRoutes } from '../main/dav/calendarApps.js';
import { createTokenAuth } from '../main/server/auth.js';
import { createLiveServer } from '../main/server/liveServer.js';
import { createLowStore } from '../main/store/lowStore.js';
import { faultyFs } from './helpers/faultyFs.js';
import { anEvent, messageQueue, TOKEN } from './helpers/liveHost.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-durable-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const isJournal = (path: string) => path.endsWith('changes.jsonl');

describe('over HTTP', () => {
  it('answers 507 and the words for a full disk, 503 for a failing one; reads and live updates go on', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log: silentLogger, fs: disk.fs });
    const server = createLiveServer({ store, auth: createTokenAuth(TOKEN), log: silentLogger });
    const { port } = await server.listen(0, '127.0.0.1');
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { 'Remote-Token': TOKEN, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    try {
      const kept = (await call('POST', '/events', anEvent({ text: 'kept' }))).body.tid;
      const hs = await call('GET', '/api/v1');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1?token=${hs.body.key}&ws=1`);
      const inbox = messageQueue(ws);
      await inbox.next((m) => m.action === 'start');
      ws.send(JSON.stringify({ action: 'subscribe', name: 'events' }));

      disk.fail({ op: 'write', code: 'ENOSPC', path: isJournal });
      expect(await call('POST', '/events', anEvent({ text: 'refused' }))).toEqual({ status: 507, body: { action: 'error', message: "the host's disk is full" } });
      expect((await call('PUT', `/events/${kept}`, anEvent({ text: 'edit refused' }))).status).toBe(507);
      expect((await call('DELETE', `/events/${kept}`)).status).toBe(507);
      disk.fail({ op: 'datasync', code: 'EIO', path: isJournal });
      const failing = await call('POST', '/events', anEvent({ text: 'refused too' }));
      expect(failing.status).toBe(503);
      expect(failing.body.message).toMatch(/could not save the change.*EIO/);

      // Reads answer what is on disk, and nothing refused was broadcast.
      const read = await call('GET', '/events');
      expect(read.body.map((e: { text: string }) => e.text)).toEqual(['kept']);
      expect((await call('GET', '/api/v1/changes?since=0')).body.changes).toHaveLength(1);
      disk.heal();
      const after = (await call('POST', '/events', anEvent({ text: 'after' }))).body.tid;
      const live = await inbox.next((m) => m.action === 'event');
      expect(live.body.value).toMatchObject({ type: 'add-event', event: { id: after }, rev: 2 });
      expect(inbox.seen.filter((m) => m.action === 'event')).toEqual([]);
      ws.terminate();
    } finally {
      await server.close();
      await store.close();
    }
  });
});

describe('calendar apps on a full disk', () => {
  it('answer a CalDAV PUT and an import with 507 too, as REST does', async () => {
    const disk = faultyFs();
    const store = await createLowStore({ dir, log: silentLogger, fs: disk.fs });
    const auth = createTokenAuth(TOKEN);
    const server = createLiveServer({
      store,
      auth,
      log: silentLogger,
      routes: (onChanges) => [calendarAppRoutes({ store, auth, log: silentLogger, onChanges, publicBaseUrl: () => 'http://127.0.0.1' })],
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:full-disk@test', 'DTSTAMP:20260301T090000Z', 'DTSTART:20260302T100000Z', 'DTEND:20260302T110000Z', 'SUMMARY:Refused', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    try {
      disk.fail({ op: 'write', code: 'ENOSPC', path: isJournal });
      const put = await fetch(`http://127.0.0.1:${port}/dav/calendars/default/full-disk.ics`, {
        method: 'PUT',
        headers: { Authorization: `Basic ${Buffer.from(`phone:${TOKEN}`).toString('base64')}`, 'Content-Type': 'text/calendar' },
        body: ics,
      });
      expect(put.status).toBe(507);
      expect(await put.text()).toContain("the host's disk is full");
      const imported = await fetch(`http://127.0.0.1:${port}/api/v1/import`, { method: 'POST', headers: { 'Remote-Token': TOKEN, 'Content-Type': 'text/calendar' }, body: ics });
      expect(imported.status).toBe(507);
      expect(await imported.json()).toEqual({ action: 'error', message: "the host's disk is full" });
      expect(store.list('events')).toEqual([]);
    } finally {
      await server.close();
      await store.close();
    }
  });
});

describe('limits over HTTP', () => {
  it('answers 507 with the limit in words', async () => {
    const store = await createLowStore({ dir, log: silentLogger, maxRecords: 1 });
    const server = createLiveServer({ store, auth: createTokenAuth(TOKEN), log: silentLogger });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const post = () =>
        fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', headers: { 'Remote-Token': TOKEN, 'Content-Type': 'application/json' }, body: JSON.stringify(anEvent()) });
      expect((await post()).status).toBe(200);
      const refused = await post();
      expect(refused.status).toBe(507);
      expect(await refused.json()).toEqual({ action: 'error', message: 'this calendar holds 1 events, the most it keeps; delete some first' });
    } finally {
      await server.close();
      await store.close();
    }
  });
});
