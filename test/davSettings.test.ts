import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calendarZone, ensureCalendarZone, readSettings } from '../main/dav/calendarSettings.js';
import { localZone } from '../main/dav/zones.js';
import { startHost } from '../main/host.js';
import { silentLogger } from '../main/log.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
});
afterEach(() => host.close());

describe("the calendar's time zone", () => {
  it('is the creating desk\'s zone until one is stored; ensureCalendarZone stores it once and never overwrites', async () => {
    expect(readSettings(host.store).timeZone).toBeNull();
    expect(calendarZone(host.store)).toBe(localZone());
    expect(await ensureCalendarZone(host.store, { zone: 'Asia/Calcutta' })).toBe('Asia/Kolkata');
    expect(await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' })).toBe('Asia/Kolkata');
    expect(host.store.get('settings', 'calendar')).toEqual({ id: 'calendar', time_zone: 'Asia/Kolkata' });
  });

  it('the plain headless host gives a new calendar a zone when it starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lansched-host-'));
    const plain = await startHost({ dataDir: dir, token: TOKEN, log: silentLogger, port: 0, bind: '127.0.0.1' });
    try {
      expect(readSettings(plain.store).timeZone).toBe(localZone());
    } finally {
      await plain.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is changed in the page for the whole calendar: announced live, and every CalDAV answer uses it', async () => {
    await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
    const e = await host.call('POST', '/events', { text: 'Call', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });
    const { inbox } = await host.connect(['settings']);
    const changed = await host.call('PUT', '/api/v1/calendar-settings', { timeZone: 'America/New_York' });
    expect(changed.status).toBe(200);
    expect(changed.body.timeZone).toBe('America/New_York');
    expect(changed.body.zones).toContain('Pacific/Auckland');
    const live = await inbox.next((m) => m.action === 'event' && m.body.name === 'settings');
    expect(live.body.value.value).toMatchObject({ id: 'calendar', time_zone: 'America/New_York' });
    const res = await fetch(`${host.base}/dav/calendars/default/${e.body.tid}.ics`, { headers: { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    const text = await res.text();
    expect(text).toContain('DTSTART;TZID=America/New_York:20260302T100000');
    expect(text).toContain('TZID:America/New_York');
  });

  it('refuses an unknown zone and callers without the token, changing nothing', async () => {
    await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
    const revision = host.store.revision();
    expect((await host.call('PUT', '/api/v1/calendar-settings', { timeZone: 'Mars/Olympus' })).status).toBe(400);
    expect((await host.call('PUT', '/api/v1/calendar-settings', '{"timeZone":', { 'Content-Type': 'application/json' })).status).toBe(400);
    expect((await fetch(`${host.base}/api/v1/calendar-settings`)).status).toBe(401);
    expect((await fetch(`${host.base}/api/v1/calendar-settings`, { headers: { 'Remote-Token': 'not-the-token' } })).status).toBe(403);
    expect((await fetch(`${host.base}/api/v1/calendar-settings/new-feed-address`, { method: 'POST' })).status).toBe(401);
    expect(host.store.revision()).toBe(revision);
  });
});
