import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { calendarIdentity } from '../main/peer/identity.js';
import { checkChanges, peerRoutes } from '../main/peer/peerRoutes.js';
import { joinHost, type Upstream } from '../main/peer/upstream.js';
import { createTokenAuth } from '../main/server/auth.js';
import { createLiveServer, type LiveServer } from '../main/server/liveServer.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { Store } from '../main/store/types.js';
import { anEvent, messageQueue } from './helpers/liveHost.js';
import { WebSocket } from 'ws';

const calendar = calendarIdentity('Office', 'join-key-for-tests');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A desk on 127.0.0.1 without mDNS: a store, a live server with the peer routes, and its upstream if it joins. */
async function desk(name: string) {
  const dir = await mkdtemp(join(tmpdir(), `lansched-${name}-`));
  const store: Store = await createLowStore({ dir, log: silentLogger });
  let upstream: Upstream | null = null;
  let server: LiveServer;
  server = createLiveServer({
    store,
    auth: createTokenAuth(calendar.token),
    log: silentLogger,
    onLocalChanges: (changes) => upstream?.push(changes),
    peerRoutes: peerRoutes({
      store,
      announce: (changes) => server.announce(changes),
      status: () => ({ peerId: name, calendarId: calendar.id, role: 'peer', revision: store.revision(), storeId: store.storeId }),
      handover: async () => {},
    }),
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const lost: string[] = [];
  const d = {
    store,
    server,
    url,
    lost,
    async join(host: { url: string }, token = calendar.token) {
      upstream = await joinHost({ hostUrl: host.url, token, store, announce: (c) => server.announce(c), log: silentLogger, onLost: () => lost.push(host.url), heartbeatMs: 200 });
      return upstream;
    },
    leave: () => upstream?.close(),
    async write(method: string, path: string, body?: unknown) {
      const res = await fetch(url + path, { method, headers: { 'Remote-Token': calendar.token, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return res.json();
    },
    texts: () => store.list('events').map((e) => e.text).sort(),
    stop: async () => {
      upstream?.close();
      await server.close();
    },
  };
  cleanups.push(async () => {
    await d.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return d;
}

describe('following a host', () => {
  it('hands over what each side had on join, and keeps both current afterwards', async () => {
    const host = await desk('host');
    const follower = await desk('follower');
    await host.write('POST', '/events', anEvent({ text: 'on the host' }));
    await follower.write('POST', '/events', anEvent({ text: 'made before joining' }));
    await follower.join(host);
    expect(host.texts()).toEqual(['made before joining', 'on the host']);
    expect(follower.texts()).toEqual(host.texts());

    // A write at either desk reaches the other's store and the other's own pages.
    const hs = await (await fetch(`${follower.url}/api/v1`, { headers: { 'Remote-Token': calendar.token } })).json();
    const page = new WebSocket(`${follower.url.replace('http', 'ws')}/api/v1?token=${hs.key}&ws=1`);
    const inbox = messageQueue(page);
    await inbox.next();
    page.send(JSON.stringify({ action: 'subscribe', name: 'events' }));
    page.send(JSON.stringify({ action: 'call', body: [{ id: '1', name: 'sync.revision' }] }));
    await inbox.next((m) => m.action === 'result');
    const { tid } = await host.write('POST', '/events', anEvent({ text: 'later on the host' }));
    expect((await inbox.next((m) => m.action === 'event')).body.value).toMatchObject({ type: 'add-event', event: { id: tid, text: 'later on the host' } });
    await follower.write('PUT', `/events/${tid}`, anEvent({ text: 'edited at the follower' }));
    await expect.poll(() => host.texts()).toContain('edited at the follower');
    expect(follower.texts()).toEqual(host.texts());
    page.close();
  });

  it('brings writes made while the host was away when it joins again, by the later-writer rule', async () => {
    const host = await desk('host');
    const follower = await desk('follower');
    const { tid } = await host.write('POST', '/events', anEvent({ text: 'v1' }));
    await follower.join(host);
    follower.leave();
    await follower.write('PUT', `/events/${tid}`, anEvent({ text: 'edited while away (earlier)' }));
    await host.write('PUT', `/events/${tid}`, anEvent({ text: 'edited on the host (later)' }));
    await follower.write('POST', '/events', anEvent({ text: 'new while away' }));
    await follower.join(host);
    expect(host.texts()).toEqual(['edited on the host (later)', 'new while away']);
    expect(follower.texts()).toEqual(host.texts());
  });

  it('notices when the host goes away', async () => {
    const host = await desk('host');
    const follower = await desk('follower');
    await follower.join(host);
    await host.stop();
    await expect.poll(() => follower.lost).toEqual([host.url]);
  });

  it('gets nothing without the calendar\'s key', async () => {
    const host = await desk('host');
    const stranger = await desk('stranger');
    await host.write('POST', '/events', anEvent({ text: 'private' }));
    await expect(stranger.join(host, calendarIdentity('Office', 'another-key-entirely').token)).rejects.toThrow(/403/);
    expect(stranger.texts()).toEqual([]);
    const res = await fetch(`${host.url}/api/v1/peer/state`, { headers: { 'Remote-Token': 'guess-guess-guess' } });
    expect(res.status).toBe(403);
  });
});

describe('changes from desks', () => {
  const valid = { entity: 'events', op: 'update', record: { id: 'a', text: 'x' }, hlc: '00000000001-000000-node' };
  it('takes well-formed versioned changes', () => {
    expect(checkChanges({ changes: [valid] })).toEqual([valid]);
  });
  it.each([
    ['raw markup', { ...valid, record: { id: 'a', text: '<img src=x onerror=alert(1)>' } }],
    ['a nested value', { ...valid, record: { id: 'a', nested: { x: 1 } } }],
    ['a bad stamp', { ...valid, hlc: 'yesterday' }],
    ['a bad entity', { ...valid, entity: '../x' }],
    ['a bad op', { ...valid, op: 'drop' }],
    ['a prototype key', { ...valid, record: JSON.parse('{"id":"a","__proto__":1}') }],
  ])('refuses %s', (_what, change) => {
    expect(() => checkChanges({ changes: [change] })).toThrow(/valid versioned change/);
  });
});
