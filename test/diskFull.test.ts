// A real full disk: the data folder on a 1 MiB tmpfs. Writes are refused with 507 and the
// words, leave no trace, reads and live updates go on, writes work again once there is room,
// and neither a clean stop nor a SIGKILL while the disk is full loses an acknowledged write.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Logger } from '../main/log.js';
import { createTokenAuth } from '../main/server/auth.js';
import { createLiveServer, type LiveServer } from '../main/server/liveServer.js';
import { DISK_FULL } from '../main/store/errors.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { Store } from '../main/store/types.js';
import { hostProcesses, request, requireBuiltCli, within, type ReadyHost } from './helpers/hostProcess.js';
import { anEvent, messageQueue, TOKEN } from './helpers/liveHost.js';
import { mountSmallDisk, tmpfsUnavailable, type SmallDisk } from './helpers/tmpfs.js';
import { eventBody, Ledger } from './helpers/writeStorm.js';

const unavailable = await tmpfsUnavailable();
if (unavailable) console.warn(`disk-full tests skipped: ${unavailable}`);

const FULL = { action: 'error', message: DISK_FULL };
const disks: SmallDisk[] = [];
const smallDisk = async () => {
  const disk = await mountSmallDisk(1024 * 1024);
  disks.push(disk);
  return disk;
};
afterAll(async () => {
  for (const disk of disks) await disk.close();
});

describe.skipIf(unavailable !== undefined)('a full disk, in process', () => {
  const said: string[] = [];
  const log: Logger = { info: (m) => said.push(m), warn: (m) => said.push(m), error: (m) => said.push(m) };
  let store: Store;
  let server: LiveServer;
  let base: string;
  const start = async (dir: string) => {
    store = await createLowStore({ dir, log });
    server = createLiveServer({ store, auth: createTokenAuth(TOKEN), log });
    base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  };
  const stop = async () => {
    await server.close();
    await store.close();
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'Remote-Token': TOKEN, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const texts = async () => ((await call('GET', '/events')).body as { text: string }[]).map((e) => e.text).sort();
  const socket = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(base).port}/api/v1?token=${(await call('GET', '/api/v1')).body.key}&ws=1`);
    const inbox = messageQueue(ws);
    await inbox.next((m) => m.action === 'start');
    ws.send(JSON.stringify({ action: 'subscribe', name: 'events' }));
    ws.send(JSON.stringify({ action: 'call', body: [{ id: 1, name: 'sync.revision', args: [] }] }));
    await inbox.next((m) => m.action === 'result');
    return { ws, inbox };
  };

  it('refuses with 507, keeps reads and sockets going, takes writes again without a restart, and keeps everything through a stop', async () => {
    const disk = await smallDisk();
    const dir = join(disk.dir, 'data');
    await start(dir);
    const acked: string[] = [];
    const ids: string[] = [];
    // Refused writes are larger than a page of the disk, so none fits in the slack of the journal's last page.
    const large = 'd'.repeat(5000);
    for (let i = 0; i < 40; i++) {
      const res = await call('POST', '/events', anEvent({ text: `kept-${i}`, ...(i < 2 ? { details: large } : {}) }));
      expect(res.body.action).toBe('inserted');
      acked.push(`kept-${i}`);
      ids.push(res.body.tid);
    }
    const watcher = await socket();
    const revision = store.revision();

    await disk.fill();
    expect(await call('POST', '/events', anEvent({ text: 'refused', details: large }))).toEqual({ status: 507, body: FULL });
    expect(await call('PUT', `/events/${ids[0]}`, anEvent({ text: 'edit refused', details: large }))).toEqual({ status: 507, body: FULL });
    expect(await call('DELETE', `/events/${ids[1]}`)).toEqual({ status: 507, body: FULL });
    // No trace: not in reads, not in the revision, not in the log, not broadcast; the journal ends on a whole line.
    expect(await texts()).toEqual([...acked].sort());
    expect(store.revision()).toBe(revision);
    expect((await call('GET', `/api/v1/changes?since=${revision}`)).body).toMatchObject({ reload: false, changes: [] });
    const journal = await readFile(join(dir, 'changes.jsonl'), 'utf8');
    expect(journal.endsWith('\n') && journal.split('\n').filter(Boolean).length).toBe(40);
    // Reads and sockets still work: a new page can load and connect.
    const late = await socket();
    expect(late.inbox.seen.filter((m) => m.action === 'event')).toEqual([]);

    // Room again: the next write goes through, without a restart, and is broadcast.
    await disk.free();
    const after = await call('POST', '/events', anEvent({ text: 'after' }));
    expect(after.body.action).toBe('inserted');
    acked.push('after');
    for (const s of [watcher, late]) {
      const live = await s.inbox.next((m) => m.action === 'event');
      expect(live.body.value).toMatchObject({ type: 'add-event', event: { id: after.body.tid }, rev: revision + 1 });
    }
    expect(watcher.inbox.seen.filter((m) => m.action === 'event')).toEqual([]);

    // Full again, then a clean stop: the snapshot cannot be written, the journal keeps everything.
    await disk.fill();
    expect((await call('POST', '/events', anEvent({ text: 'refused again', details: large }))).status).toBe(507);
    watcher.ws.terminate();
    late.ws.terminate();
    await stop();
    expect(said.join('\n')).toMatch(/could not save .*calendar\.json on the way out/);
    // Started again on the still-full disk: everything acknowledged, nothing refused.
    await start(dir);
    expect(await texts()).toEqual([...acked].sort());
    expect((await call('POST', '/events', anEvent({ text: 'still full', details: large }))).status).toBe(507);
    await disk.free();
    expect((await call('POST', '/events', anEvent({ text: 'room' }))).body.action).toBe('inserted');
    acked.push('room');
    await stop();
    await start(dir);
    expect(await texts()).toEqual([...acked].sort());
    await stop();
  });
});

describe.skipIf(unavailable !== undefined)('a full disk under the built host', () => {
  const hosts = hostProcesses('lansched-full-');
  beforeAll(requireBuiltCli);
  afterEach(hosts.killLeftovers);
  afterAll(hosts.cleanup);
  const startHost = (dir: string) =>
    hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', TOKEN], 20_000, `the host on ${dir}`);
  const listEvents = async (host: ReadyHost) => {
    const res = await request(host.base, 'GET', '/events', TOKEN);
    expect(res.status).toBe(200);
    return new Map((res.json as { id: string; text: string }[]).map((e) => [e.id, e.text]));
  };

  /** Writers that keep going through refusals until `until` resolves; every answer is an ack or a 507. */
  const storm = async (host: ReadyHost, ledger: Ledger, tag: string, until: (refused: () => number) => Promise<unknown>) => {
    let refused = 0;
    let stop = false;
    const wrong: string[] = [];
    const writer = async (w: number) => {
      const mine: string[] = [];
      for (let n = 0; !stop; n++) {
        const text = `${tag}-${w}-${n}`;
        const update = mine.length > 0 && n % 3 === 2;
        const id = update ? mine[n % mine.length]! : '';
        if (update) ledger.events.get(id)!.unanswered = text;
        else ledger.unansweredCreates.add(text);
        const res = await request(host.base, update ? 'PUT' : 'POST', update ? `/events/${id}` : '/events', TOKEN, { ...eventBody(text), details: 'x'.repeat(300) }).catch(() => null);
        if (!res) return; // the host was killed
        if (res.status === 507) {
          expect(res.json).toEqual(FULL);
          refused++;
          // Refused: the event keeps its acknowledged state, and the refused create never existed.
          if (update) delete ledger.events.get(id)!.unanswered;
          else ledger.unansweredCreates.delete(text);
          continue;
        }
        if (res.status !== 200) wrong.push(`${res.status} ${res.text.slice(0, 200)}`);
        if (update) ledger.events.set(id, { acked: text });
        else {
          ledger.unansweredCreates.delete(text);
          ledger.events.set(res.json.tid, { acked: text });
          mine.push(res.json.tid);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await within(until(() => refused), 30_000, `${tag}: the disk to fill`);
    return {
      refused: () => refused,
      wrong,
      async kill() {
        stop = true;
        host.child.kill('SIGKILL');
        await within(host.closed, 10_000, 'the killed host to exit');
        await Promise.all(writers);
      },
      async stopWriters() {
        stop = true;
        await Promise.all(writers);
      },
    };
  };
  const refusedAtLeast = (n: number) => async (refused: () => number) => {
    while (refused() < n) await new Promise((resolve) => setImmediate(resolve));
  };

  it('keeps every acknowledged write through a SIGKILL and a clean stop while the disk is full', async () => {
    const disk = await smallDisk();
    const dir = join(disk.dir, 'data');
    const ledger = new Ledger();
    let host = await startHost(dir);
    await disk.fill(200 * 1024);

    // Killed while writes are being refused. (Restarted with room: the host writes files of its
    // own at start; the store itself starting on a full disk is the test above.)
    const first = await storm(host, ledger, 'k', refusedAtLeast(50));
    await first.kill();
    expect(first.wrong).toEqual([]);
    expect(ledger.events.size).toBeGreaterThan(100);
    await disk.free();
    host = await startHost(dir);
    expect(ledger.check(await listEvents(host))).toEqual([]);

    // Full again: refused; then a clean stop while full.
    await disk.fill(100 * 1024);
    const second = await storm(host, ledger, 's', refusedAtLeast(20));
    await second.stopWriters();
    expect(second.wrong).toEqual([]);
    host.child.kill('SIGTERM');
    expect(await within(host.closed, 15_000, 'the host to stop')).toEqual({ code: 0, signal: null });
    expect(host.stderr()).toMatch(/could not save .*calendar\.json on the way out/);
    await disk.free();
    host = await startHost(dir);
    expect(ledger.check(await listEvents(host))).toEqual([]);

    // The running host takes writes, and a clean stop folds everything into calendar.json.
    const res = await request(host.base, 'POST', '/events', TOKEN, eventBody('with room'));
    expect(res.json).toMatchObject({ action: 'inserted' });
    ledger.events.set(res.json.tid, { acked: 'with room' });
    host.child.kill('SIGTERM');
    expect(await within(host.closed, 15_000, 'the host to stop')).toEqual({ code: 0, signal: null });
    expect(await readFile(join(dir, 'changes.jsonl'), 'utf8')).toBe('');
    host = await startHost(dir);
    expect(ledger.check(await listEvents(host))).toEqual([]);
    host.child.kill('SIGKILL');
    await within(host.closed, 10_000, 'the host to exit');
  }, 90_000);
});
