import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { feedUrls } from '../main/dav/feed.js';
import { silentLogger } from '../main/log.js';
import { createTokenAuth } from '../main/server/auth.js';
import { calendarAppRoutes } from '../main/dav/calendarApps.js';
import { createLiveServer } from '../main/server/liveServer.js';
import { davClient, davClientsMissing } from './helpers/davClients.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

const missing = davClientsMissing();
if (missing) console.warn(`skipping the feed's python3-icalendar checks: ${missing}`);

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
});
afterEach(() => host.close());

const settings = async () => (await host.call('GET', '/api/v1/calendar-settings')).body;
const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
};

async function someEvents() {
  const room = await host.call('POST', '/calendars', { name: 'Room A', color: '#16a34a' });
  await host.call('POST', '/events', { text: 'Board <meeting>, "Q2"', details: 'Line 1\nLine 2; with, punctuation', start_date: '2026-03-10 09:00', end_date: '2026-03-10 10:00', calendar_id: room.body.tid, alarms: 'BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT5M\r\nEND:VALARM' });
  const weekly = await host.call('POST', '/events', { text: 'Standup', start_date: '2026-03-16 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 900 });
  await host.call('POST', '/events', { text: 'Standup', start_date: '2026-03-30 09:00', end_date: '2026-03-30 09:15', recurring_event_id: weekly.body.tid, original_start: '2026-03-30 09:00', deleted: true });
  return { room: room.body.tid as string, weekly: weekly.body.tid as string };
}

describe('the ICS feed', () => {
  it('holds the events with real text, one feed for all calendars and one per calendar, each URL ending in .ics', async () => {
    const { room } = await someEvents();
    const { feeds } = await settings();
    expect(feeds.all).toMatch(new RegExp(`^${host.base}/feed/[A-Za-z0-9_-]{32}/all\\.ics$`));
    expect(feeds.calendars).toEqual([{ id: room, name: 'Room A', url: expect.stringMatching(new RegExp(`/cal-${room}\\.ics$`)) }]);
    expect(feeds).toEqual(feedUrls(host.base, createTokenAuth(TOKEN), host.store));

    const all = await get(feeds.all);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    expect(all.text).toContain('SUMMARY:Board <meeting>\\, "Q2"');
    expect(all.text).toContain('DESCRIPTION:Line 1\\nLine 2\\; with\\, punctuation');
    expect(all.text).toContain('X-WR-TIMEZONE:Europe/Berlin');
    expect(all.text).toContain('REFRESH-INTERVAL;VALUE=DURATION:PT15M');
    expect(all.text).not.toContain('BEGIN:VALARM');
    expect((await get(feeds.calendars[0].url)).text.match(/BEGIN:VEVENT/g)).toHaveLength(1);
    expect((await get(feeds.none)).text).not.toContain('Board');

    const etag = all.headers.get('etag')!;
    expect((await get(feeds.all, { 'If-None-Match': etag })).status).toBe(304);
    await host.call('POST', '/events', { text: 'Later', start_date: '2026-03-11 09:00', end_date: '2026-03-11 10:00' });
    const changed = await get(feeds.all, { 'If-None-Match': etag });
    expect(changed.status).toBe(200);
    expect(changed.text).toContain('SUMMARY:Later');
  });

  it.skipIf(!!missing)('parses in python3-icalendar, and recurring-ical-events sees the series without its cancelled occurrence', async () => {
    await someEvents();
    const { feeds } = await settings();
    const parsed = await davClient('feed', feeds.all, '');
    expect(parsed).toMatchObject({ status: 200, name: 'Office calendar', vtimezones: ['Europe/Berlin'] });
    expect(parsed.events.map((e: any) => e.SUMMARY).sort()).toEqual(['Board <meeting>, "Q2"', 'Standup']);
    expect(parsed.events.every((e: any) => e.alarms === 0)).toBe(true);
    // Mondays from March 16 through December 28, less March 30: 42 - 1, and the board meeting.
    expect(parsed.occurrences2026).toBe(41 + 1);
  });

  it('a new feed address revokes the old URLs; so does a change of the calendar key', async () => {
    await someEvents();
    const before = (await settings()).feeds;
    expect((await get(before.all)).status).toBe(200);

    const { feeds: after } = (await host.call('POST', '/api/v1/calendar-settings/new-feed-address')).body;
    expect(after.all).not.toBe(before.all);
    expect((await get(before.all)).status).toBe(404);
    expect((await get(before.calendars[0].url)).status).toBe(404);
    expect((await get(after.all)).status).toBe(200);

    // The same calendar served with another key (the key was changed): every feed URL made before is dead.
    const auth = createTokenAuth('a-brand-new-token-0123');
    const rekeyed = createLiveServer({ store: host.store, auth, log: silentLogger, routes: (onChanges) => [calendarAppRoutes({ store: host.store, auth, log: silentLogger, onChanges })] });
    const { port } = await rekeyed.listen(0, '127.0.0.1');
    try {
      const path = new URL(after.all).pathname;
      expect((await get(`http://127.0.0.1:${port}${path}`)).status).toBe(404);
      const fresh = feedUrls(`http://127.0.0.1:${port}`, createTokenAuth('a-brand-new-token-0123'), host.store);
      expect((await get(fresh.all)).status).toBe(200);
    } finally {
      await rekeyed.close();
    }
  });

  it('a wrong or made-up secret, scope or calendar is a plain 404', async () => {
    const { room } = await someEvents();
    const { feeds } = await settings();
    const secret = new URL(feeds.all).pathname.split('/')[2]!;
    for (const path of [`/feed/${secret}/none.ics`, `/feed/${secret}/cal-${room}.ics`, `/feed/${'A'.repeat(32)}/all.ics`, `/feed/${secret}/all.txt`, '/feed/x/all.ics']) {
      expect((await get(host.base + path)).status, path).toBe(404);
    }
  });
});
