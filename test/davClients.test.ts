import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { davClient, davClientsMissing, vcalendar } from './helpers/davClients.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

const missing = davClientsMissing();
if (missing) console.warn(`skipping: ${missing}`);

const DEFAULT = 'Office calendar (no calendar)';
let host: TestHost;
let root: string;
beforeEach(async () => {
  host = await startTestHost();
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
  root = `${host.base}/`;
});
afterEach(() => host.close());

const py = (command: string, args: Record<string, unknown> = {}, password = TOKEN) => davClient(command, root, password, args);
const events = () => host.store.list('events');

const single = (uid: string, summary: string, start: string, end: string, extra: string[] = []) =>
  vcalendar('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART;TZID=Europe/Berlin:${start}`, `DTEND;TZID=Europe/Berlin:${end}`, `SUMMARY:${summary}`, ...extra, 'END:VEVENT');

/** A weekly series on Mondays at 10:00 Berlin time across the change to summer time (March 29, 2026). */
const series = (summary = 'Weekly sync') =>
  vcalendar(
    'BEGIN:VEVENT',
    'UID:weekly@test',
    'DTSTAMP:20260101T000000Z',
    'DTSTART;TZID=Europe/Berlin:20260316T100000',
    'DTEND;TZID=Europe/Berlin:20260316T110000',
    'RRULE:FREQ=WEEKLY;COUNT=5;BYDAY=MO',
    'EXDATE;TZID=Europe/Berlin:20260323T100000',
    `SUMMARY:${summary}`,
    'BEGIN:VALARM',
    'ACTION:DISPLAY',
    'DESCRIPTION:Soon',
    'TRIGGER:-PT10M',
    'END:VALARM',
    'BEGIN:VALARM',
    'ACTION:DISPLAY',
    'DESCRIPTION:At a fixed time',
    'TRIGGER;VALUE=DATE-TIME:20260316T080000Z',
    'END:VALARM',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:weekly@test',
    'DTSTAMP:20260101T000000Z',
    'RECURRENCE-ID;TZID=Europe/Berlin:20260406T100000',
    'DTSTART;TZID=Europe/Berlin:20260406T140000',
    'DTEND;TZID=Europe/Berlin:20260406T150000',
    'SUMMARY:Weekly sync (afternoon)',
    'END:VEVENT',
  );

describe.skipIf(!!missing)('CalDAV with python3-caldav, checked with python3-icalendar and recurring-ical-events', () => {
  it('discovers the calendars from the root URL and from /.well-known/caldav', async () => {
    const room = await host.call('POST', '/calendars', { name: 'Room <A>', color: '#16a34a' });
    const found = await py('discover');
    expect(found.calendars).toEqual([
      { name: DEFAULT, url: `${host.base}/dav/calendars/default/` },
      { name: 'Room <A>', url: `${host.base}/dav/calendars/${room.body.tid}/` },
    ]);
    const redirect = await fetch(`${host.base}/.well-known/caldav`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/dav/']);
    expect((await davClient('discover', `${host.base}/.well-known/caldav`, TOKEN)).calendars).toHaveLength(2);
  });

  it('creates, reads, updates with If-Match, refuses a stale ETag with 412, and deletes; the resource name and UID round-trip', async () => {
    const { url } = await py('put', { calendar: DEFAULT, ics: single('crud@test', 'Grüße\\, <b>team</b>; 🎉', '20260302T100000', '20260302T110000', ['DESCRIPTION:line one\\nline two']) });
    expect(url).toBe(`${host.base}/dav/calendars/default/crud%40test.ics`);
    const stored = events()[0]!;
    expect(stored).toMatchObject({ ical_uid: 'crud@test', dav_name: 'crud@test.ics', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00', details: 'line one\nline two' });
    expect(stored.text).toBe('Grüße, &#60;b&#62;team&#60;/b&#62;; 🎉');

    const first = await py('get', { url });
    expect(first.status).toBe(200);
    // The person's real text, with RFC 5545 escaping on the wire; every TZID with its VTIMEZONE.
    expect(first.events[0]).toMatchObject({ UID: 'crud@test', SUMMARY: 'Grüße, <b>team</b>; 🎉', DESCRIPTION: 'line one\nline two', dtstart: '2026-03-02T10:00:00+01:00' });
    expect(first.raw).toContain('SUMMARY:Grüße\\, <b>team</b>\\; 🎉');
    expect(first.vtimezones).toEqual(first.tzids);

    const updated = single('crud@test', 'Renamed', '20260302T120000', '20260302T130000');
    const put = await py('request', { url, method: 'PUT', body: updated, headers: { 'If-Match': first.etag, 'Content-Type': 'text/calendar; charset=utf-8' } });
    expect(put.status).toBe(204);
    const second = await py('get', { url });
    expect(second.etag).not.toBe(first.etag);
    expect(second.events[0]).toMatchObject({ SUMMARY: 'Renamed', dtstart: '2026-03-02T12:00:00+01:00' });
    expect(events()).toHaveLength(1);
    expect(events()[0]!.id).toBe(stored.id);

    const stale = await py('request', { url, method: 'PUT', body: single('crud@test', 'Lost update', '20260302T120000', '20260302T130000'), headers: { 'If-Match': first.etag } });
    expect(stale.status).toBe(412);
    const exists = await py('request', { url, method: 'PUT', body: updated, headers: { 'If-None-Match': '*' } });
    expect(exists.status).toBe(412);
    expect(events()[0]!.text).toBe('Renamed');

    expect((await py('request', { url, method: 'DELETE', headers: { 'If-Match': first.etag } })).status).toBe(412);
    expect((await py('request', { url, method: 'DELETE', headers: { 'If-Match': second.etag } })).status).toBe(204);
    expect((await py('get', { url })).status).toBe(404);
    expect(events()).toEqual([]);
  });

  it('all-day events: from a client, and from the page', async () => {
    const { url } = await py('put', {
      calendar: DEFAULT,
      ics: vcalendar('BEGIN:VEVENT', 'UID:holiday@test', 'DTSTAMP:20260101T000000Z', 'DTSTART;VALUE=DATE:20260501', 'DTEND;VALUE=DATE:20260502', 'SUMMARY:Holiday', 'END:VEVENT'),
    });
    expect(events()[0]).toMatchObject({ start_date: '2026-05-01 00:00', end_date: '2026-05-02 00:00' });
    expect((await py('get', { url })).events[0]).toMatchObject({ dtstart: '2026-05-01', dtend: '2026-05-02' });

    const page = await host.call('POST', '/events', { text: 'Offsite', start_date: '2026-05-04 00:00', end_date: '2026-05-06 00:00' });
    const got = await py('get', { url: `${host.base}/dav/calendars/default/${page.body.tid}.ics` });
    expect(got.events[0]).toMatchObject({ UID: page.body.tid, SUMMARY: 'Offsite', dtstart: '2026-05-04', dtend: '2026-05-06' });
    expect(got.raw).toContain('DTSTART;VALUE=DATE:20260504');
  });

  it('a weekly series with an EXDATE and a moved occurrence across the DST change; VALARMs come back unchanged; a re-PUT keeps its exceptions', async () => {
    const { url } = await py('put', { calendar: DEFAULT, ics: series() });
    const master = events().find((e) => e.rrule)!;
    expect(master).toMatchObject({ start_date: '2026-03-16 10:00', duration: 3600, end_date: '2026-04-13 11:00' });
    expect(String(master.rrule)).toMatch(/FREQ=WEEKLY/);
    const exceptions = events().filter((e) => e.recurring_event_id === master.id);
    expect(exceptions.map((e) => [e.original_start, e.start_date, e.deleted ?? false]).sort()).toEqual([
      ['2026-03-23 10:00', '2026-03-23 10:00', true],
      ['2026-04-06 10:00', '2026-04-06 14:00', false],
    ]);

    // recurring-ical-events expands what the server sends: 10:00 on the wall before and after March 29.
    const expanded = await py('expand', { url, from: '2026-03-01', to: '2026-05-01' });
    expect(expanded.occurrences.map((o: any) => [o.start, o.summary])).toEqual([
      ['2026-03-16T10:00:00+01:00', 'Weekly sync'],
      ['2026-03-30T10:00:00+02:00', 'Weekly sync'],
      ['2026-04-06T14:00:00+02:00', 'Weekly sync (afternoon)'],
      ['2026-04-13T10:00:00+02:00', 'Weekly sync'],
    ]);
    const got = await py('get', { url });
    expect(got.events[0].alarms).toEqual(['-PT10M', '20260316T080000Z']);

    // The client rewrites the series (new title) with its override: exceptions are kept, with their ids.
    const before = exceptions.map((e) => e.id).sort();
    expect((await py('request', { url, method: 'PUT', body: series('Weekly sync v2'), headers: { 'If-Match': got.etag } })).status).toBe(204);
    expect(events().filter((e) => e.recurring_event_id === master.id).map((e) => e.id).sort()).toEqual(before);
    expect(events().find((e) => e.id === master.id)!.text).toBe('Weekly sync v2');
  });

  it('a series made in the page, with a changed and a deleted occurrence, reads as RRULE, EXDATE and RECURRENCE-ID', async () => {
    const s = await host.call('POST', '/events', { text: 'Page series', start_date: '2026-03-17 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;INTERVAL=1;BYDAY=TU', duration: 1800 });
    await host.call('POST', '/events', { text: 'Page series', start_date: '2026-03-24 09:00', end_date: '2026-03-24 09:30', recurring_event_id: s.body.tid, original_start: '2026-03-24 09:00', deleted: true });
    await host.call('POST', '/events', { text: 'Page series (later)', start_date: '2026-03-31 11:00', end_date: '2026-03-31 11:30', recurring_event_id: s.body.tid, original_start: '2026-03-31 09:00' });
    const url = `${host.base}/dav/calendars/default/${s.body.tid}.ics`;
    const expanded = await py('expand', { url, from: '2026-03-16', to: '2026-04-09' });
    expect(expanded.occurrences.map((o: any) => [o.start, o.end, o.summary])).toEqual([
      ['2026-03-17T09:00:00+01:00', '2026-03-17T09:30:00+01:00', 'Page series'],
      ['2026-03-31T11:00:00+02:00', '2026-03-31T11:30:00+02:00', 'Page series (later)'],
      ['2026-04-07T09:00:00+02:00', '2026-04-07T09:30:00+02:00', 'Page series'],
    ]);
  });

  it('answers a time-range query with the events, and the series occurrences, in the range', async () => {
    await py('put', { calendar: DEFAULT, ics: series() });
    await py('put', { calendar: DEFAULT, ics: single('monday@test', 'Monday lunch', '20260330T120000', '20260330T130000') });
    await py('put', { calendar: DEFAULT, ics: single('tuesday@test', 'Tuesday lunch', '20260331T120000', '20260331T130000') });
    await py('put', { calendar: DEFAULT, ics: single('exdate-day@test', 'On the cancelled Monday', '20260323T120000', '20260323T130000') });
    expect((await py('search', { calendar: DEFAULT, from: '2026-03-30T00:00:00+02:00', to: '2026-03-31T00:00:00+02:00' })).uids).toEqual(['monday@test', 'weekly@test']);
    // March 23 is the cancelled occurrence: only the other event that day.
    expect((await py('search', { calendar: DEFAULT, from: '2026-03-23T00:00:00+01:00', to: '2026-03-24T00:00:00+01:00' })).uids).toEqual(['exdate-day@test']);
    // The moved occurrence is found where it moved to, and not where it was.
    expect((await py('search', { calendar: DEFAULT, from: '2026-04-06T13:30:00+02:00', to: '2026-04-06T14:30:00+02:00' })).uids).toEqual(['weekly@test']);
    expect((await py('search', { calendar: DEFAULT, from: '2026-04-06T09:30:00+02:00', to: '2026-04-06T10:30:00+02:00' })).uids).toEqual([]);
    expect((await py('search', { calendar: DEFAULT, from: '2026-05-01T00:00:00+02:00', to: '2026-06-01T00:00:00+02:00' })).uids).toEqual([]);
  });

  it('sync-collection: a token, then only what changed since, from CalDAV and from the page', async () => {
    await py('put', { calendar: DEFAULT, ics: single('keep@test', 'Keep', '20260302T100000', '20260302T110000') });
    const { url: goneUrl } = await py('put', { calendar: DEFAULT, ics: single('gone@test', 'Gone', '20260303T100000', '20260303T110000') });
    const first = await py('sync', { calendar: DEFAULT });
    expect(first.items.map((i: any) => i.uid).sort()).toEqual(['gone@test', 'keep@test']);

    const added = await host.call('POST', '/events', { text: 'From the page', start_date: '2026-03-04 10:00', end_date: '2026-03-04 11:00' });
    expect((await py('request', { url: goneUrl, method: 'DELETE' })).status).toBe(204);
    const second = await py('sync', { calendar: DEFAULT, token: first.token });
    expect(second.items).toEqual(
      expect.arrayContaining([
        { url: `${host.base}/dav/calendars/default/${added.body.tid}.ics`, uid: added.body.tid, gone: false },
        { url: goneUrl, uid: null, gone: true },
      ]),
    );
    expect(second.items).toHaveLength(2);
    const third = await py('sync', { calendar: DEFAULT, token: second.token });
    expect(third.items).toEqual([]);
  });

  it('refuses no password and a wrong password with 401 and a Basic challenge', async () => {
    const auth = await py('auth');
    expect(auth).toEqual({ none: 401, noneChallenge: 'Basic realm="LAN Scheduler", charset="UTF-8"', wrong: 401, right: 207, library: 'AuthorizationError' });
  });

  it('a CalDAV write is announced live like a REST write', async () => {
    const { inbox } = await host.connect(['events']);
    await py('put', { calendar: DEFAULT, ics: single('live@test', 'Live from CalDAV', '20260302T100000', '20260302T110000') });
    const message = await inbox.next((m) => m.action === 'event' && m.body.value.type === 'add-event');
    expect(message.body.value.event).toMatchObject({ text: 'Live from CalDAV', start_date: '2026-03-02 10:00', ical_uid: 'live@test' });
  });
});
