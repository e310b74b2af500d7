import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { importFile, importLines } from '../main/dav/importCommand.js';
import { importIcs } from '../main/dav/importIcs.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'ics');
const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8');

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
});
afterEach(() => host.close());

const events = () => host.store.list('events');
const byText = (text: string) => events().find((e) => e.text === text);
const exceptionsOf = (id: string) => events().filter((e) => e.recurring_event_id === id).sort((a, b) => String(a.original_start).localeCompare(String(b.original_start)));

describe('importing exports of Google, Outlook and Thunderbird', () => {
  it('Google: X-WR-TIMEZONE and its VTIMEZONE, a weekly series over the DST change with an EXDATE and a moved occurrence, UTC and all-day events', async () => {
    const outcome = await importIcs({ store: host.store, text: await fixture('google.ics') });
    expect(outcome.skipped).toEqual([]);
    expect(outcome.imported.map((e) => e.title).sort()).toEqual(['Labour Day', 'Lunch with Ana', 'Standup']);
    const standup = byText('Standup')!;
    expect(standup).toMatchObject({ start_date: '2026-03-09 09:30', end_date: '2026-04-27 09:30', duration: 900, location: 'Room 2, 1st floor', ical_uid: '3k2j4h5g6f7d8s9a0p1o2i3u4y@google.com' });
    // WKST=MO is the default, which ical.js leaves out.
    expect(String(standup.rrule).split(';').sort()).toEqual(['BYDAY=MO', 'FREQ=WEEKLY']);
    expect(standup.details).toBe('Weekly standup.\nJoin: https://meet.example/abc-defg-hij');
    expect(standup.alarms).toMatch(/TRIGGER:-P(0DT0H)?10M/);
    expect(exceptionsOf(standup.id).map((e) => [e.original_start, e.start_date, e.deleted ?? false, e.text])).toEqual([
      ['2026-03-23 09:30', '2026-03-23 09:30', true, 'Standup'],
      // After the clocks changed on March 29: still 09:30 on the wall, moved to 11:00.
      ['2026-04-06 09:30', '2026-04-06 11:00', false, 'Standup (after the Easter break)'],
    ]);
    // 12:00 UTC on March 12 is 13:00 in Berlin (CET).
    expect(byText('Lunch with Ana')).toMatchObject({ start_date: '2026-03-12 13:00', end_date: '2026-03-12 14:00' });
    expect(byText('Labour Day')).toMatchObject({ start_date: '2026-05-01 00:00', end_date: '2026-05-02 00:00' });
  });

  it('Outlook: Windows zone names mapped to IANA (W. Europe, Eastern), a counted series with an EXDATE and an override, a multi-day all-day event', async () => {
    const outcome = await importIcs({ store: host.store, text: await fixture('outlook.ics') });
    expect(outcome.skipped).toEqual([]);
    const planning = byText('Planning')!;
    expect(planning).toMatchObject({ start_date: '2026-03-16 14:00', duration: 3600, location: 'Board room', details: 'Agenda: budget, hiring, roadmap.\n' });
    expect(String(planning.rrule)).toContain('COUNT=6');
    // Six Mondays from March 16: the last one, April 20, ends at 15:00.
    expect(planning.end_date).toBe('2026-04-20 15:00');
    expect(planning.ical_uid).toBe('040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5DC01000000000000000010000000C3D4E5F60718293A4B5C6D7E8F9012');
    expect(exceptionsOf(planning.id).map((e) => [e.original_start, e.start_date, e.deleted ?? false])).toEqual([
      ['2026-03-30 14:00', '2026-03-30 14:00', true],
      ['2026-04-13 14:00', '2026-04-13 16:00', false],
    ]);
    // 09:00 in New York on March 10 (US summer time since March 8) is 14:00 in Berlin (still winter time).
    expect(byText('Call with the Boston office')).toMatchObject({ start_date: '2026-03-10 14:00', end_date: '2026-03-10 15:00', location: 'Teams' });
    expect(byText('Team offsite')).toMatchObject({ start_date: '2026-04-20 00:00', end_date: '2026-04-23 00:00' });
  });

  it('Thunderbird: non-ASCII text and escapes, two VALARMs kept as written, a weekday series with UNTIL, a yearly all-day series; the task is skipped, saying why', async () => {
    const outcome = await importIcs({ store: host.store, text: await fixture('thunderbird.ics') });
    expect(outcome.skipped).toEqual([{ uid: 'e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9', title: 'Order new chairs', reason: 'a task (VTODO), not an event' }]);
    const cafe = byText('Café with Zoë – “Q2 plans”')!;
    expect(cafe).toMatchObject({ start_date: '2026-03-11 15:00', location: 'Café Nord', details: 'Bring: notes, laptop; charger\nSecond line' });
    expect(String(cafe.alarms).match(/BEGIN:VALARM/g)).toHaveLength(2);
    expect(cafe.alarms).toContain('TRIGGER;VALUE=DATE-TIME:20260311T080000Z');
    const checkIn = byText('Morning check-in')!;
    expect(checkIn).toMatchObject({ start_date: '2026-03-23 08:30', end_date: '2026-04-03 08:30', duration: 900 });
    expect(exceptionsOf(checkIn.id).map((e) => [e.original_start, e.start_date, e.deleted ?? false])).toEqual([
      ['2026-03-25 08:30', '2026-03-25 08:30', true],
      ['2026-03-31 08:30', '2026-03-31 10:00', false],
    ]);
    expect(byText("Jonas' birthday".replace("'", '&#39;'))).toMatchObject({ start_date: '2026-03-27 00:00', end_date: '9999-02-01 00:00', duration: 86400, rrule: 'FREQ=YEARLY' });
  });

  it('what cannot be stored is listed with the reason, and the rest is imported', async () => {
    const outcome = await importIcs({ store: host.store, text: await fixture('trouble.ics') });
    const reasons = Object.fromEntries(outcome.skipped.map((s) => [s.title, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['Ping', 'Somewhere', 'Workshop']);
    expect(reasons.Ping).toMatch(/hourly, daily, weekly, monthly or yearly/);
    expect(reasons.Workshop).toMatch(/RDATE/);
    expect(reasons.Somewhere).toMatch(/time zone "Custom\/Nowhere"/);
    // A Windows zone with no VTIMEZONE at all is still known; a floating time is the calendar's wall clock.
    expect(byText('Paris office visit')).toMatchObject({ start_date: '2026-03-04 09:00' });
    expect(byText('No UID, floating time')).toMatchObject({ start_date: '2026-03-05 12:00' });
    expect(byText('Moved occurrence of a series not in this file')).toMatchObject({ start_date: '2026-03-06 11:00' });
    expect(outcome.summary).toMatch(/^Imported 3 events\. Skipped 3: /);
    expect(outcome.summary).toContain('“Workshop”: RDATE');
  });

  it('importing the same files twice creates nothing new', async () => {
    for (const name of ['google.ics', 'outlook.ics', 'thunderbird.ics', 'trouble.ics']) await importIcs({ store: host.store, text: await fixture(name) });
    const before = events().length;
    for (const name of ['google.ics', 'outlook.ics', 'thunderbird.ics', 'trouble.ics']) {
      const again = await importIcs({ store: host.store, text: await fixture(name) });
      expect(again.imported).toEqual([]);
      expect(again.summary).toMatch(/^Nothing was imported\./);
      expect(again.skipped.filter((s) => s.reason.startsWith('already in the calendar')).length).toBeGreaterThan(0);
    }
    expect(events().length).toBe(before);
  });

  it('garbage is refused and changes nothing', async () => {
    await expect(importIcs({ store: host.store, text: 'hello, this is not a calendar' })).rejects.toMatchObject({ status: 400 });
    await expect(importIcs({ store: host.store, text: await fixture('google.ics'), calendarId: 'nope' })).rejects.toMatchObject({ status: 404 });
    expect(events()).toEqual([]);
  });
});

describe('the import endpoint and command', () => {
  it('imports into the chosen calendar over HTTP, announcing each event live', async () => {
    const cal = await host.call('POST', '/calendars', { name: 'Team Berlin', color: '#2563eb' });
    const { inbox } = await host.connect(['events']);
    const res = await fetch(`${host.base}/api/v1/import?calendar=${cal.body.tid}`, {
      method: 'POST',
      headers: { 'Remote-Token': TOKEN, 'Content-Type': 'text/calendar' },
      body: await fixture('google.ics'),
    });
    expect(res.status).toBe(200);
    const outcome = await res.json();
    expect(outcome.summary).toBe('Imported 3 events (1 repeating).');
    const live = await inbox.next((m) => m.action === 'event' && m.body.value.type === 'add-event' && m.body.value.event.text === 'Standup');
    expect(live.body.value.event.calendar_id).toBe(cal.body.tid);
    expect(events().every((e) => e.calendar_id === cal.body.tid)).toBe(true);
  });

  it('refuses without the token, garbage, and an unknown calendar', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = { 'Remote-Token': TOKEN }) =>
      fetch(`${host.base}${path}`, { method: 'POST', headers: { 'Content-Type': 'text/calendar', ...headers }, body });
    expect((await post('/api/v1/import', 'BEGIN:VCALENDAR', {})).status).toBe(401);
    expect((await post('/api/v1/import', 'BEGIN:VCALENDAR', { 'Remote-Token': 'wrong-token-123' })).status).toBe(403);
    const garbage = await post('/api/v1/import', 'not iCalendar at all');
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ action: 'error', message: expect.stringMatching(/not iCalendar/) });
    expect((await post('/api/v1/import?calendar=missing', await fixture('google.ics'))).status).toBe(404);
    expect(events()).toEqual([]);
  });

  it('the command imports a file into a calendar named by its name, and says what happened', async () => {
    await host.call('POST', '/calendars', { name: 'Projects & <Plans>', color: '#16a34a' });
    const outcome = await importFile({ baseUrl: host.base, token: TOKEN, file: join(FIXTURES, 'outlook.ics'), into: 'projects & <plans>' });
    expect(outcome.imported).toHaveLength(3);
    const calendarId = host.store.list('calendars')[0]!.id;
    expect(events().filter((e) => !e.recurring_event_id).every((e) => e.calendar_id === calendarId)).toBe(true);
    expect(importLines(outcome)[0]).toBe('Imported 3 events (1 repeating).');
    await expect(importFile({ baseUrl: host.base, token: TOKEN, file: join(FIXTURES, 'outlook.ics'), into: 'Nope' })).rejects.toThrow(/no calendar "Nope"; the calendars are: Projects & <Plans>/);
    await expect(importFile({ baseUrl: host.base, token: 'wrong-token-123', file: join(FIXTURES, 'outlook.ics') })).rejects.toThrow(/refused/);
  });
});
