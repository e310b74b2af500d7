import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESK_ID, listed } from './helpers/desktopFakes.js';
import { useDesktops } from './helpers/desktopHarness.js';
import { IpcArgumentError } from '../main/desktop/ipc.js';
import { loadDesk } from '../main/hostFiles.js';
import { calendarSecrets, legacyCalendarId, newJoinKey } from '../main/trust/keys.js';

// The controller with stand-ins for the peer runtime and the lobby: no mDNS, no sockets, no Electron.
// Its start, its states and its end; joining, inviting and leaving are in desktopJoinLeave.test.ts.

const t = useDesktops();

describe('the desktop controller', () => {
  it('opens the lobby on first run, with no calendar in its desk file', async () => {
    t.found = [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Design team' }];
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    expect(t.lobbies).toHaveLength(1);
    expect(t.peers).toHaveLength(0);
    expect(d.state()).toEqual({ calendar: null, status: 'lobby', host: null, desks: [], found: t.found, notices: [] });
    expect(w.origins).toEqual([t.lobbies[0]!.origin]);
    expect(d.origin()).toBe(t.lobbies[0]!.origin);
    expect(() => d.connection()).toThrow(IpcArgumentError);
    expect(() => d.invite()).toThrow(IpcArgumentError);
    // Calendars that show up on the LAN reach the window.
    t.lobbies[0]!.found = [...t.found, { id: 'cd34cd34cd34cd34cd34cd34', name: 'Sales' }];
    t.lobbies[0]!.changed();
    expect(w.last().found.map((c) => c.name)).toEqual(['Design team', 'Sales']);
  });

  it('creates a calendar: a random id, a new key, a folder of its own on 3210, kept, and the window moved', async () => {
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    await d.createCalendar('Office');
    expect(t.peers).toHaveLength(1);
    const { options } = t.peers[0]!;
    expect(options).toMatchObject({ port: 3210, bind: '0.0.0.0', pageDir: '/nonexistent', deskName: 'Alice Martin', identityDir: t.dir, calendar: { name: 'Office', keyGen: 0 } });
    expect(options.calendar.joinKey).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(options.calendar.id).toMatch(/^[0-9a-f]{24}$/);
    expect(options.dataDir).toBe(join(t.dir, 'calendars', options.calendar.id));
    expect(await t.deskFile()).toEqual({ version: 2, calendar: options.calendar });
    expect(t.lobbies[0]!.closes).toBe(1);
    expect(w.origins.at(-1)).toBe('http://127.0.0.1:3210');
    expect(d.connection()).toEqual({ baseUrl: 'http://127.0.0.1:3210', token: calendarSecrets(options.calendar.joinKey).browserToken });
    expect(w.last()).toMatchObject({ calendar: { id: options.calendar.id, name: 'Office' }, status: 'starting' });
    await expect(d.createCalendar('Another')).rejects.toThrow(/leave it first/);
    expect(t.peers).toHaveLength(1);
  });

  it('comes back to the same calendar after a restart', async () => {
    const first = t.desktop();
    await first.start();
    await first.createCalendar('Office');
    await first.close();
    expect(t.peers[0]!.closes).toBe(1);
    const again = t.desktop();
    await again.start();
    expect(t.lobbies).toHaveLength(1); // no lobby the second time
    expect(t.peers[1]!.options.calendar).toEqual(t.peers[0]!.options.calendar);
  });

  it('carries over the desk file of the previous version: same calendar id, key and folder', async () => {
    const joinKey = newJoinKey();
    await writeFile(join(t.dir, 'desk.json'), JSON.stringify({ peerId: 'alice_0123456789abcdef', calendar: { name: 'Office', joinKey } }));
    const d = t.desktop();
    await d.start();
    const { calendar, dataDir } = t.peers[0]!.options;
    // The id the previous version derived from the key, so calendars/<id> is the folder it used.
    expect(calendar).toEqual({ id: legacyCalendarId(joinKey), name: 'Office', joinKey, keyGen: 0 });
    expect(dataDir).toBe(join(t.dir, 'calendars', legacyCalendarId(joinKey)));
    expect(await t.deskFile()).toEqual({ version: 2, calendar });
  });

  it('says hosting, connecting, connected to a named desk, taking over and offline as the runtime moves', async () => {
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    await d.createCalendar('Office');
    const p = t.peers[0]!;
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

    t.online = false;
    p.set({ desks: [] });
    expect(w.last().status).toBe('offline');
    t.online = true;
    p.role({ kind: 'hosting', takeover: true });
    p.set({ role: 'host', host: null });
    expect(w.last().status).toBe('hosting');
  });

  it('tells the person, in words, of a clock that is off, a key that changed and a desk to update', async () => {
    const d = t.desktop();
    await d.start();
    await d.createCalendar('Office');
    t.peers[0]!.set({ clockSkewMs: 5 * 60_000, keyChanged: true, outdated: [{ name: 'old', address: '192.168.1.40', version: '1' }] });
    expect(d.state().notices).toEqual([
      expect.stringMatching(/key was changed while this desk was away/),
      expect.stringMatching(/clock is 5 min fast/),
      expect.stringMatching(/192\.168\.1\.40 runs an older LAN Scheduler/),
    ]);
    t.peers[0]!.set({ clockSkewMs: -3 * 60_000, keyChanged: false, outdated: [] });
    expect(d.state().notices).toEqual([expect.stringMatching(/clock is 3 min slow/)]);
    t.peers[0]!.set({ clockSkewMs: 20_000 });
    expect(d.state().notices).toEqual([]);
    t.peers[0]!.set({ storage: { state: 'disk-full', message: 'the host\'s disk is full', since: Date.now() } });
    expect(d.state().notices).toEqual([expect.stringMatching(/disk is full: changes made here are refused until space is freed/)]);
  });

  it('shows who is online with the names desks gave, this desk first, then the host', async () => {
    const d = t.desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = t.peers[0]!;
    expect(d.state().desks).toEqual([{ deskId: DESK_ID, name: 'Alice Martin', role: 'starting', self: true }]);
    p.set({ role: 'peer', desks: [listed(DESK_ID, 'Alice Martin', 'peer'), listed('b'.repeat(32), 'Bob', 'host'), listed('d'.repeat(32), '', 'peer'), listed('e'.repeat(32), 'Gone', 'leaving')] });
    expect(d.state().desks.map((x) => x.name)).toEqual(['Alice Martin', 'Bob', 'Desk dddddd']);
  });

  it('takes other ports when 3210 is in use, and stays in the lobby when the desk cannot start', async () => {
    const d = t.desktop();
    await d.start();
    t.failNextPeer = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    await d.createCalendar('Office');
    expect(t.peers[0]!.options.port).toBe(0);
    expect(d.connection().baseUrl).toBe('http://127.0.0.1:45678');

    const other = t.desktop({ dataDir: join(t.dir, 'other') });
    await other.start();
    t.failNextPeer = new Error('the disk is full');
    await expect(other.createCalendar('Office')).rejects.toThrow('the disk is full');
    expect(other.state().status).toBe('lobby');
    expect(t.lobbies.at(-1)!.closes).toBe(0);
    expect((await loadDesk(join(t.dir, 'other'))).calendar).toBeNull();
  });

  it('does one switch at a time: a second create while the first runs finds the calendar', async () => {
    const d = t.desktop();
    await d.start();
    const results = await Promise.allSettled([d.createCalendar('Office'), d.createCalendar('Office too')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(t.peers).toHaveLength(1);
  });

  it('closes once: the desk hands over, listeners hear nothing more, and later calls are refused', async () => {
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    await d.createCalendar('Office');
    const count = w.states.length;
    await Promise.all([d.close(), d.close()]);
    expect(t.peers[0]!.closes).toBe(1);
    t.peers[0]!.set({ role: 'host' });
    expect(w.states).toHaveLength(count);
    await expect(d.leave()).rejects.toThrow(/quitting/);
  });
});
