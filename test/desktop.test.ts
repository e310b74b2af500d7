import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDesktop, type Desktop } from '../main/desktop/desktop.js';
import { fakeLobby, fakePeer, seen, type FakePeer } from './helpers/desktopFakes.js';
import { IpcArgumentError, type DesktopState } from '../main/desktop/ipc.js';
import { silentLogger } from '../main/log.js';
import { calendarIdentity, newJoinKey } from '../main/peer/identity.js';

// The controller with stand-ins for the peer runtime and the lobby: no mDNS, no sockets, no Electron.

let dir: string;
let peers: FakePeer[];
let lobbies: ReturnType<typeof fakeLobby>[];
let found: { id: string; name: string }[];
let failNextPeer: Error | null;
let online: boolean;
let desktops: Desktop[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-desktop-'));
  peers = [];
  lobbies = [];
  found = [];
  failNextPeer = null;
  online = true;
  desktops = [];
});
afterEach(async () => {
  for (const d of desktops) await d.close();
  await rm(dir, { recursive: true, force: true });
});

function desktop(over: Partial<Parameters<typeof createDesktop>[0]> = {}) {
  const d = createDesktop({
    dataDir: dir,
    pageDir: '/nonexistent',
    log: silentLogger,
    person: 'Alice Martin',
    async startPeer(options) {
      if (failNextPeer) {
        const err = failNextPeer;
        failNextPeer = null;
        throw err;
      }
      const p = fakePeer(options);
      peers.push(p);
      return p;
    },
    async startLobby() {
      const l = fakeLobby(found);
      lobbies.push(l);
      return l;
    },
    online: () => online,
    lanAddress: () => '192.168.1.20',
    ...over,
  });
  desktops.push(d);
  return d;
}

/** Records every state the controller emits. */
function watch(d: Desktop) {
  const states: DesktopState[] = [];
  const origins: string[] = [];
  d.onState((s) => states.push(s));
  d.onOrigin((o) => origins.push(o));
  return { states, origins, last: () => states.at(-1)! };
}

const deskFile = async () => JSON.parse(await readFile(join(dir, 'desk.json'), 'utf8'));

describe('the desktop controller', () => {
  it('opens the lobby on first run, under a desk id that carries the person\'s name', async () => {
    found = [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Design team' }];
    const d = desktop();
    const w = watch(d);
    await d.start();
    expect(lobbies).toHaveLength(1);
    expect(peers).toHaveLength(0);
    expect(d.state()).toEqual({ calendar: null, status: 'lobby', host: null, desks: [], found });
    expect(w.origins).toEqual([lobbies[0]!.origin]);
    expect(d.origin()).toBe(lobbies[0]!.origin);
    const file = await deskFile();
    expect(file.peerId).toMatch(/^Alice-Martin_[0-9a-f]{16}$/);
    expect(file.calendar).toBeNull();
    expect(() => d.connection()).toThrow(IpcArgumentError);
    expect(() => d.invite()).toThrow(IpcArgumentError);
    // Calendars that show up on the LAN reach the window.
    lobbies[0]!.found = [...found, { id: 'cd34cd34cd34cd34cd34cd34', name: 'Sales' }];
    lobbies[0]!.changed();
    expect(w.last().found.map((c) => c.name)).toEqual(['Design team', 'Sales']);
  });

  it('creates a calendar: starts the desk on 3210 in a folder of its own, keeps it, and moves the window', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    const { peerId } = await deskFile();
    await d.createCalendar('Office');
    expect(peers).toHaveLength(1);
    const { options } = peers[0]!;
    expect(options).toMatchObject({ peerId, port: 3210, bind: '0.0.0.0', pageDir: '/nonexistent', calendar: { name: 'Office' } });
    expect(options.calendar.joinKey).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const { id, token } = calendarIdentity('Office', options.calendar.joinKey);
    expect(options.dataDir).toBe(join(dir, 'calendars', id));
    expect(await deskFile()).toEqual({ peerId, calendar: { name: 'Office', joinKey: options.calendar.joinKey } });
    expect(lobbies[0]!.closes).toBe(1);
    expect(w.origins.at(-1)).toBe('http://127.0.0.1:3210');
    expect(d.connection()).toEqual({ baseUrl: 'http://127.0.0.1:3210', token });
    expect(w.last()).toMatchObject({ calendar: { id, name: 'Office' }, status: 'starting' });
    await expect(d.createCalendar('Another')).rejects.toThrow(/leave it first/);
    expect(peers).toHaveLength(1);
  });

  it('comes back as the same desk of the same calendar after a restart', async () => {
    const first = desktop();
    await first.start();
    await first.createCalendar('Office');
    await first.close();
    expect(peers[0]!.closes).toBe(1);
    const again = desktop();
    await again.start();
    expect(lobbies).toHaveLength(1); // no lobby the second time
    expect(peers[1]!.options.peerId).toBe(peers[0]!.options.peerId);
    expect(peers[1]!.options.calendar).toEqual(peers[0]!.options.calendar);
  });

  it('says hosting, connecting, connected to a named desk, taking over and offline as the runtime moves', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    const bob = seen('bob-pc_0123456789abcdef', 'host');
    p.set({ role: 'host' });
    expect(w.last().status).toBe('hosting');

    p.set({ role: 'peer', host: { peerId: bob.peerId, address: bob.address, port: bob.port }, peers: [bob] });
    expect(w.last()).toMatchObject({ status: 'connecting', host: { name: 'bob-pc', role: 'host' } });
    p.role({ kind: 'joined', host: bob });
    expect(w.last()).toMatchObject({ status: 'connected', host: { peerId: bob.peerId, name: 'bob-pc' } });

    p.role({ kind: 'host-lost', host: bob.peerId });
    p.set({ host: null, peers: [] });
    expect(w.last().status).toBe('taking-over');
    // Another desk takes over: until this desk is through to it, it is still a take-over.
    const carol = seen('carol_fedcba9876543210', 'host');
    p.set({ host: { peerId: carol.peerId, address: carol.address, port: carol.port }, peers: [carol] });
    expect(w.last().status).toBe('taking-over');
    p.role({ kind: 'joined', host: carol });
    expect(w.last()).toMatchObject({ status: 'connected', host: { name: 'carol' } });

    online = false;
    p.set({ peers: [] });
    expect(w.last().status).toBe('offline');
    online = true;
    p.role({ kind: 'hosting', takeover: true });
    p.set({ role: 'host', host: null });
    expect(w.last().status).toBe('hosting');
  });

  it('publishes who is online on the desk\'s own server when it changes, by name', async () => {
    const d = desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    const presence = () => p.published.filter((m) => m.name === 'presence').map((m) => m.value);
    expect(presence()).toHaveLength(1);
    expect(presence()[0]).toEqual({
      type: 'update-presence',
      value: { desks: [{ peerId: p.options.peerId, name: 'Alice Martin', role: 'starting', self: true }] },
    });
    p.set({ role: 'host', peers: [seen('bob-pc_0123456789abcdef', 'peer'), seen('A1b2C3d4E5f6', 'peer'), seen('gone_0123456789abcdef', 'leaving')] });
    expect(presence()).toHaveLength(2);
    expect(presence()[1].value.desks.map((x: any) => x.name)).toEqual(['Alice Martin', 'bob-pc', 'Desk A1b2C3']);
    expect(d.state().desks).toEqual(presence()[1].value.desks);
    // Nothing about the desks changed: nothing is published.
    p.set({ otherCalendars: [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Sales' }] });
    expect(presence()).toHaveLength(2);
  });

  it('joins a calendar found on the LAN only with the key that opens it', async () => {
    const key = newJoinKey();
    const { id } = calendarIdentity('', key);
    found = [{ id, name: 'Design team' }];
    const d = desktop();
    await d.start();
    await expect(d.joinCalendar(id, newJoinKey())).rejects.toThrow(/does not open this calendar/);
    expect(peers).toHaveLength(0);
    expect(lobbies[0]!.closes).toBe(0);
    await d.joinCalendar(id, key);
    expect(peers[0]!.options.calendar).toEqual({ name: 'Design team', joinKey: key });
    expect(peers[0]!.options.dataDir).toBe(join(dir, 'calendars', id));
    expect(d.state().calendar).toEqual({ id, name: 'Design team' });
  });

  it('takes another port when 3210 is in use, and stays in the lobby when the desk cannot start', async () => {
    const d = desktop();
    await d.start();
    failNextPeer = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    await d.createCalendar('Office');
    expect(peers[0]!.options.port).toBe(0);
    expect(d.connection().baseUrl).toBe('http://127.0.0.1:45678');

    const other = desktop({ dataDir: join(dir, 'other') });
    await other.start();
    failNextPeer = new Error('the disk is full');
    await expect(other.createCalendar('Office')).rejects.toThrow('the disk is full');
    expect(other.state().status).toBe('lobby');
    expect(lobbies.at(-1)!.closes).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'other', 'desk.json'), 'utf8')).calendar).toBeNull();
  });

  it('writes an invite with the key for desks and a link to the hosting desk for browsers', async () => {
    const d = desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    const { joinKey } = p.options.calendar;
    const own = d.invite();
    expect(own).toContain(`enter the key: ${joinKey}`);
    expect(own).toContain(`http://192.168.1.20:3210/#token=${encodeURIComponent(p.identity.token)}`);
    p.set({ role: 'peer', host: { peerId: 'bob-pc_0123456789abcdef', address: 'fe80::1', port: 3300 } });
    expect(d.invite()).toContain('http://[fe80::1]:3300/#token=');
  });

  it('leaves: says so, hands over, forgets the key, and shows the lobby; a new calendar gets a new folder', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    const first = peers[0]!;
    await d.leave();
    expect(first.closes).toBe(1);
    expect(w.states.some((s) => s.status === 'leaving')).toBe(true);
    expect((await deskFile()).calendar).toBeNull();
    expect(lobbies).toHaveLength(2);
    expect(w.origins.at(-1)).toBe(lobbies[1]!.origin);
    expect(d.state()).toMatchObject({ calendar: null, status: 'lobby' });
    await d.leave(); // nothing to leave: nothing happens
    await d.createCalendar('Office');
    expect(peers[1]!.options.dataDir).not.toBe(first.options.dataDir);
  });

  it('does one switch at a time: a second create while the first runs finds the calendar', async () => {
    const d = desktop();
    await d.start();
    const results = await Promise.allSettled([d.createCalendar('Office'), d.createCalendar('Office too')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(peers).toHaveLength(1);
  });

  it('closes once: the desk hands over, listeners hear nothing more, and later calls are refused', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    const count = w.states.length;
    await Promise.all([d.close(), d.close()]);
    expect(peers[0]!.closes).toBe(1);
    peers[0]!.set({ role: 'host' });
    expect(w.states).toHaveLength(count);
    await expect(d.leave()).rejects.toThrow(/quitting/);
  });
});
