import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDesktop, type Desktop } from '../main/desktop/desktop.js';
import { DESK_ID, fakeLobby, fakePeer, listed, type FakePeer } from './helpers/desktopFakes.js';
import { IpcArgumentError, type DesktopState } from '../main/desktop/ipc.js';
import { loadDesk } from '../main/hostFiles.js';
import { silentLogger } from '../main/log.js';
import type { KeyTrial } from '../main/peer/probe.js';
import { formatDeskInvite } from '../main/trust/invite.js';
import { calendarSecrets, legacyCalendarId, newJoinKey } from '../main/trust/keys.js';

// The controller with stand-ins for the peer runtime and the lobby: no mDNS, no sockets, no Electron.

let dir: string;
let peers: FakePeer[];
let lobbies: ReturnType<typeof fakeLobby>[];
let found: { id: string; name: string }[];
let failNextPeer: Error | null;
let online: boolean;
let desktops: Desktop[];
/** The keys the calendars "on the LAN" open, by calendar id (what their desks would prove). */
let keys: Map<string, string>;
let tries: { key: string; calendars: string[] }[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-desktop-'));
  peers = [];
  lobbies = [];
  found = [];
  failNextPeer = null;
  online = true;
  desktops = [];
  keys = new Map();
  tries = [];
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
    async tryKey(key, hints): Promise<KeyTrial> {
      tries.push({ key, calendars: hints.map((h) => h.calendarId) });
      const hit = hints.find((h) => keys.get(h.calendarId) === key);
      return hit ? { found: { id: hit.calendarId, name: hit.calendarName, keyGen: 2 } } : { found: null, why: 'no calendar on this network opens with that key' };
    },
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
  it('opens the lobby on first run, with no calendar in its desk file', async () => {
    found = [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Design team' }];
    const d = desktop();
    const w = watch(d);
    await d.start();
    expect(lobbies).toHaveLength(1);
    expect(peers).toHaveLength(0);
    expect(d.state()).toEqual({ calendar: null, status: 'lobby', host: null, desks: [], found, notices: [] });
    expect(w.origins).toEqual([lobbies[0]!.origin]);
    expect(d.origin()).toBe(lobbies[0]!.origin);
    expect(() => d.connection()).toThrow(IpcArgumentError);
    expect(() => d.invite()).toThrow(IpcArgumentError);
    // Calendars that show up on the LAN reach the window.
    lobbies[0]!.found = [...found, { id: 'cd34cd34cd34cd34cd34cd34', name: 'Sales' }];
    lobbies[0]!.changed();
    expect(w.last().found.map((c) => c.name)).toEqual(['Design team', 'Sales']);
  });

  it('creates a calendar: a random id, a new key, a folder of its own on 3210, kept, and the window moved', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    expect(peers).toHaveLength(1);
    const { options } = peers[0]!;
    expect(options).toMatchObject({ port: 3210, bind: '0.0.0.0', pageDir: '/nonexistent', deskName: 'Alice Martin', identityDir: dir, calendar: { name: 'Office', keyGen: 0 } });
    expect(options.calendar.joinKey).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(options.calendar.id).toMatch(/^[0-9a-f]{24}$/);
    expect(options.dataDir).toBe(join(dir, 'calendars', options.calendar.id));
    expect(await deskFile()).toEqual({ version: 2, calendar: options.calendar });
    expect(lobbies[0]!.closes).toBe(1);
    expect(w.origins.at(-1)).toBe('http://127.0.0.1:3210');
    expect(d.connection()).toEqual({ baseUrl: 'http://127.0.0.1:3210', token: calendarSecrets(options.calendar.joinKey).browserToken });
    expect(w.last()).toMatchObject({ calendar: { id: options.calendar.id, name: 'Office' }, status: 'starting' });
    await expect(d.createCalendar('Another')).rejects.toThrow(/leave it first/);
    expect(peers).toHaveLength(1);
  });

  it('comes back to the same calendar after a restart', async () => {
    const first = desktop();
    await first.start();
    await first.createCalendar('Office');
    await first.close();
    expect(peers[0]!.closes).toBe(1);
    const again = desktop();
    await again.start();
    expect(lobbies).toHaveLength(1); // no lobby the second time
    expect(peers[1]!.options.calendar).toEqual(peers[0]!.options.calendar);
  });

  it('carries over the desk file of the previous version: same calendar id, key and folder', async () => {
    const joinKey = newJoinKey();
    await writeFile(join(dir, 'desk.json'), JSON.stringify({ peerId: 'alice_0123456789abcdef', calendar: { name: 'Office', joinKey } }));
    const d = desktop();
    await d.start();
    const { calendar, dataDir } = peers[0]!.options;
    // The id the previous version derived from the key, so calendars/<id> is the folder it used.
    expect(calendar).toEqual({ id: legacyCalendarId(joinKey), name: 'Office', joinKey, keyGen: 0 });
    expect(dataDir).toBe(join(dir, 'calendars', legacyCalendarId(joinKey)));
    expect(await deskFile()).toEqual({ version: 2, calendar });
  });

  it('says hosting, connecting, connected to a named desk, taking over and offline as the runtime moves', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    const bob = { deskId: 'b'.repeat(32), name: 'Bob', address: '192.168.1.30', webPort: 3210 };
    p.set({ role: 'host' });
    expect(w.last().status).toBe('hosting');

    p.set({ role: 'peer', host: bob });
    expect(w.last()).toMatchObject({ status: 'connecting', host: { name: 'Bob', role: 'host' } });
    p.role({ kind: 'joined', host: { ...bob, role: 'host', host: null, addresses: [bob.address], deskPort: 3211, revision: 0, inSyncAt: 0 }, address: bob.address });
    expect(w.last()).toMatchObject({ status: 'connected', host: { deskId: bob.deskId, name: 'Bob' } });

    p.role({ kind: 'host-lost', host: bob.deskId });
    p.set({ host: null });
    expect(w.last().status).toBe('taking-over');
    // Another desk takes over: until this desk is through to it, it is still a take-over.
    const carol = { deskId: 'c'.repeat(32), name: 'Carol', address: '192.168.1.31', webPort: 3210 };
    p.set({ host: carol });
    expect(w.last().status).toBe('taking-over');
    p.role({ kind: 'joined', host: { ...carol, role: 'host', host: null, addresses: [carol.address], deskPort: 3211, revision: 0, inSyncAt: 0 }, address: carol.address });
    expect(w.last()).toMatchObject({ status: 'connected', host: { name: 'Carol' } });

    online = false;
    p.set({ desks: [] });
    expect(w.last().status).toBe('offline');
    online = true;
    p.role({ kind: 'hosting', takeover: true });
    p.set({ role: 'host', host: null });
    expect(w.last().status).toBe('hosting');
  });

  it('tells the person, in words, of a clock that is off, a key that changed and a desk to update', async () => {
    const d = desktop();
    await d.start();
    await d.createCalendar('Office');
    peers[0]!.set({ clockSkewMs: 5 * 60_000, keyChanged: true, outdated: [{ name: 'old', address: '192.168.1.40', version: '1' }] });
    expect(d.state().notices).toEqual([
      expect.stringMatching(/key was changed while this desk was away/),
      expect.stringMatching(/clock is 5 min fast/),
      expect.stringMatching(/192\.168\.1\.40 runs an older LAN Scheduler/),
    ]);
    peers[0]!.set({ clockSkewMs: -3 * 60_000, keyChanged: false, outdated: [] });
    expect(d.state().notices).toEqual([expect.stringMatching(/clock is 3 min slow/)]);
    peers[0]!.set({ clockSkewMs: 20_000 });
    expect(d.state().notices).toEqual([]);
    peers[0]!.set({ storage: { state: 'disk-full', message: 'the host\'s disk is full', since: Date.now() } });
    expect(d.state().notices).toEqual([expect.stringMatching(/disk is full: changes made here are refused until space is freed/)]);
  });

  it('shows who is online with the names desks gave, this desk first, then the host', async () => {
    const d = desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    expect(d.state().desks).toEqual([{ deskId: DESK_ID, name: 'Alice Martin', role: 'starting', self: true }]);
    p.set({ role: 'peer', desks: [listed(DESK_ID, 'Alice Martin', 'peer'), listed('b'.repeat(32), 'Bob', 'host'), listed('d'.repeat(32), '', 'peer'), listed('e'.repeat(32), 'Gone', 'leaving')] });
    expect(d.state().desks.map((x) => x.name)).toEqual(['Alice Martin', 'Bob', 'Desk dddddd']);
  });

  it('joins a calendar found on the LAN only with the key its desks accept', async () => {
    const key = newJoinKey();
    const id = 'ab12ab12ab12ab12ab12ab12';
    keys.set(id, key);
    found = [{ id, name: 'Design team' }];
    const d = desktop();
    await d.start();
    await expect(d.joinCalendar(id, newJoinKey())).rejects.toThrow(/does not open this calendar/);
    await expect(d.joinCalendar(id, 'aaaaaaaaaaaaaaaaaaaaaaaa')).rejects.toThrow(/not a calendar key/);
    expect(peers).toHaveLength(0);
    expect(lobbies[0]!.closes).toBe(0);
    await d.joinCalendar(id, key);
    expect(tries.at(-1)).toEqual({ key, calendars: [id] });
    expect(peers[0]!.options.calendar).toEqual({ id, name: 'Design team', joinKey: key, keyGen: 2 });
    expect(peers[0]!.options.dataDir).toBe(join(dir, 'calendars', id));
    expect(d.state().calendar).toEqual({ id, name: 'Design team' });
  });

  it('joins with a pasted invite by unicast, or with a pasted key by asking every calendar found', async () => {
    const calendar = { id: 'ef56ef56ef56ef56ef56ef56', name: 'Office', joinKey: newJoinKey(), keyGen: 3 };
    const desks = [{ deskId: 'b'.repeat(32), addresses: ['10.0.0.5'], deskPort: 3211 }];
    const d = desktop();
    await d.start();
    await expect(d.joinInvite('lansched://join?c=nope')).rejects.toThrow(/names no calendar/);
    await d.joinInvite(`You are invited…\nDesk invite: ${formatDeskInvite({ calendar, desks })}\nIn a browser: …`);
    expect(peers[0]!.options).toMatchObject({ calendar, invite: desks });
    await d.leave();

    const key = newJoinKey();
    found = [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Sales' }, { id: 'cd34cd34cd34cd34cd34cd34', name: 'Design' }];
    lobbies.at(-1)!.found = found;
    keys.set('cd34cd34cd34cd34cd34cd34', key);
    await expect(d.joinInvite(newJoinKey())).rejects.toThrow(/No calendar on this network opens with that key/);
    await d.joinInvite(`  ${key}\n`);
    expect(tries.at(-1)!.calendars).toEqual(['ab12ab12ab12ab12ab12ab12', 'cd34cd34cd34cd34cd34cd34']);
    expect(peers[1]!.options.calendar).toMatchObject({ id: 'cd34cd34cd34cd34cd34cd34', name: 'Design', joinKey: key });
  });

  it('takes other ports when 3210 is in use, and stays in the lobby when the desk cannot start', async () => {
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
    expect((await loadDesk(join(dir, 'other'))).calendar).toBeNull();
  });

  it('writes an invite: the desk invite with the host first, and an https link with the fingerprint for browsers', async () => {
    const d = desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = peers[0]!;
    const { joinKey } = p.options.calendar;
    const own = d.invite();
    expect(own).toMatch(/Desk invite: lansched:\/\/join\?\S+/);
    expect(own).toContain(`k=${joinKey}`);
    expect(own).toContain(`https://192.168.1.20:3210/#token=${encodeURIComponent(p.browserToken())}`);
    expect(own).toContain('AB:CD:EF');
    p.set({ role: 'peer', host: { deskId: 'b'.repeat(32), name: 'Bob', address: '10.0.0.7', webPort: 3210 } });
    expect(d.invite()).toMatch(new RegExp(`d=${'b'.repeat(32)}%7E3211%7E10\\.0\\.0\\.7&d=${DESK_ID}`));
  });

  it('changes the key: keeps the new one in the desk file and reloads the window with the new token', async () => {
    const d = desktop();
    const w = watch(d);
    await d.start();
    await d.createCalendar('Office');
    const before = w.origins.length;
    await d.changeKey();
    expect(peers[0]!.keyChanges).toBe(1);
    expect((await deskFile()).calendar).toMatchObject({ joinKey: 'cHqRDp6nm3Zf1KJuRlvGwtwk', keyGen: 1 });
    await expect.poll(() => w.origins.length).toBe(before + 1);
    expect(d.connection().token).toBe(calendarSecrets('cHqRDp6nm3Zf1KJuRlvGwtwk').browserToken);
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
