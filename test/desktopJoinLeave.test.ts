import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESK_ID } from './helpers/desktopFakes.js';
import { useDesktops } from './helpers/desktopHarness.js';
import { formatDeskInvite } from '../main/trust/invite.js';
import { calendarSecrets, newJoinKey } from '../main/trust/keys.js';

// The controller with stand-ins for the peer runtime and the lobby: no mDNS, no sockets, no Electron.
// Joining with a key or an invite, writing invites, a new key, and leaving (the rest: desktop.test.ts).

const t = useDesktops();

describe('the desktop controller', () => {
  it('joins a calendar found on the LAN only with the key its desks accept', async () => {
    const key = newJoinKey();
    const id = 'ab12ab12ab12ab12ab12ab12';
    t.keys.set(id, key);
    t.found = [{ id, name: 'Design team' }];
    const d = t.desktop();
    await d.start();
    await expect(d.joinCalendar(id, newJoinKey())).rejects.toThrow(/does not open this calendar/);
    await expect(d.joinCalendar(id, 'aaaaaaaaaaaaaaaaaaaaaaaa')).rejects.toThrow(/not a calendar key/);
    expect(t.peers).toHaveLength(0);
    expect(t.lobbies[0]!.closes).toBe(0);
    await d.joinCalendar(id, key);
    expect(t.tries.at(-1)).toEqual({ key, calendars: [id] });
    expect(t.peers[0]!.options.calendar).toEqual({ id, name: 'Design team', joinKey: key, keyGen: 2 });
    expect(t.peers[0]!.options.dataDir).toBe(join(t.dir, 'calendars', id));
    expect(d.state().calendar).toEqual({ id, name: 'Design team' });
  });

  it('joins with a pasted invite by unicast, or with a pasted key by asking every calendar found', async () => {
    const calendar = { id: 'ef56ef56ef56ef56ef56ef56', name: 'Office', joinKey: newJoinKey(), keyGen: 3 };
    const desks = [{ deskId: 'b'.repeat(32), addresses: ['10.0.0.5'], deskPort: 3211 }];
    const d = t.desktop();
    await d.start();
    await expect(d.joinInvite('lansched://join?c=nope')).rejects.toThrow(/names no calendar/);
    await d.joinInvite(`You are invited…\nDesk invite: ${formatDeskInvite({ calendar, desks })}\nIn a browser: …`);
    expect(t.peers[0]!.options).toMatchObject({ calendar, invite: desks });
    await d.leave();

    const key = newJoinKey();
    t.found = [{ id: 'ab12ab12ab12ab12ab12ab12', name: 'Sales' }, { id: 'cd34cd34cd34cd34cd34cd34', name: 'Design' }];
    t.lobbies.at(-1)!.found = t.found;
    t.keys.set('cd34cd34cd34cd34cd34cd34', key);
    await expect(d.joinInvite(newJoinKey())).rejects.toThrow(/No calendar on this network opens with that key/);
    await d.joinInvite(`  ${key}\n`);
    expect(t.tries.at(-1)!.calendars).toEqual(['ab12ab12ab12ab12ab12ab12', 'cd34cd34cd34cd34cd34cd34']);
    expect(t.peers[1]!.options.calendar).toMatchObject({ id: 'cd34cd34cd34cd34cd34cd34', name: 'Design', joinKey: key });
  });

  it('writes an invite: the desk invite with the host first, and an https link with the fingerprint for browsers', async () => {
    const d = t.desktop();
    await d.start();
    await d.createCalendar('Office');
    const p = t.peers[0]!;
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
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    await d.createCalendar('Office');
    const before = w.origins.length;
    await d.changeKey();
    expect(t.peers[0]!.keyChanges).toBe(1);
    expect((await t.deskFile()).calendar).toMatchObject({ joinKey: 'cHqRDp6nm3Zf1KJuRlvGwtwk', keyGen: 1 });
    await expect.poll(() => w.origins.length).toBe(before + 1);
    expect(d.connection().token).toBe(calendarSecrets('cHqRDp6nm3Zf1KJuRlvGwtwk').browserToken);
  });

  it('leaves: says so, hands over, forgets the key, and shows the lobby; a new calendar gets a new folder', async () => {
    const d = t.desktop();
    const w = t.watch(d);
    await d.start();
    await d.createCalendar('Office');
    const first = t.peers[0]!;
    await d.leave();
    expect(first.closes).toBe(1);
    expect(w.states.some((s) => s.status === 'leaving')).toBe(true);
    expect((await t.deskFile()).calendar).toBeNull();
    expect(t.lobbies).toHaveLength(2);
    expect(w.origins.at(-1)).toBe(t.lobbies[1]!.origin);
    expect(d.state()).toMatchObject({ calendar: null, status: 'lobby' });
    await d.leave(); // nothing to leave: nothing happens
    await d.createCalendar('Office');
    expect(t.peers[1]!.options.dataDir).not.toBe(first.options.dataDir);
  });
});
