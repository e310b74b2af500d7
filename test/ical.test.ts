import fc from 'fast-check';
import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { mapEvent, parseCalendars, resolveZones } from '../main/dav/fromIcal.js';
import { calendarText, type Resource } from '../main/dav/toIcal.js';
import { intoZone, recordFromTime } from '../main/dav/wallClock.js';
import { canonicalZone, ianaForTzid, icalZone } from '../main/dav/zones.js';
import { events } from '../main/server/entities.js';
import { validateRecord } from '../main/server/validate.js';
import type { StoredRecord } from '../main/store/types.js';

const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Etc/UTC'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Records → iCalendar text → records again, as a client's PUT of what it read would be stored. */
function roundTrip(resource: Resource, zone: string) {
  const text = calendarText([resource], { zone, alarms: true });
  const [vcalendar] = parseCalendars(text);
  expect(resolveZones(vcalendar!).size).toBe(0);
  const mapped = mapEvent(vcalendar!.getAllSubcomponents('vevent'), icalZone(zone));
  return { text, mapped, master: validateRecord(events.spec, mapped.master), exceptions: mapped.exceptions.map((e) => validateRecord(events.spec, e)) };
}

const stored = (body: Record<string, unknown>, id = 'r1'): StoredRecord => ({ ...validateRecord(events.spec, body), id });
const textArb = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', ';', '\\', '\n', '<', '>', '&', '"', "'", 'é', 'ß', '🎉', '–'), maxLength: 40 });
const dayArb = fc.record({ y: fc.integer({ min: 2020, max: 2030 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) });
const wall = (day: { y: number; m: number; d: number }, minutes: number) => `${day.y}-${pad(day.m)}-${pad(day.d)} ${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
const addDays = (day: { y: number; m: number; d: number }, n: number) => {
  const t = new Date(Date.UTC(day.y, day.m - 1, day.d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};

describe('records and iCalendar, through the calendar zone', () => {
  it('a single event (timed or all-day) comes back as it was, whatever its text and zone', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), dayArb, fc.integer({ min: 0, max: 287 }), fc.integer({ min: 0, max: 48 }), fc.boolean(), textArb, textArb, (zone, day, slot, length, allDay, title, details) => {
        const body = allDay
          ? { text: title, start_date: wall(day, 0), end_date: wall(addDays(day, 1 + (length % 3)), 0), details }
          : { text: title, start_date: wall(day, slot * 5), end_date: wall(day, Math.min(slot * 5 + length * 5, 23 * 60 + 55)), details };
        if (body.end_date < body.start_date) return;
        const master = stored(body);
        const back = roundTrip({ master, exceptions: [] }, zone);
        const { id: _id, ...expected } = master;
        expect(back.master).toEqual({ ...expected, ...(details === '' && { details: undefined }), ical_uid: undefined });
        expect(back.text.includes(allDay ? 'DTSTART;VALUE=DATE:' : zone === 'Etc/UTC' ? 'DTSTART:' : `DTSTART;TZID=${zone}:`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a series with deleted and moved occurrences comes back with the same rule, length, end and exceptions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        dayArb,
        fc.integer({ min: 6 * 12, max: 20 * 12 }),
        fc.constantFrom('FREQ=DAILY', 'FREQ=WEEKLY', 'FREQ=WEEKLY;INTERVAL=2', 'FREQ=MONTHLY;BYMONTHDAY=5'),
        fc.constantFrom('never', 'until'),
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }),
        (zone, day, slot, rule, ends, picks) => {
          const start = wall(day, slot * 5);
          const step = rule === 'FREQ=DAILY' ? 1 : rule.includes('INTERVAL=2') ? 14 : 7;
          const master = stored({ text: 'Series', start_date: start, end_date: ends === 'never' ? '9999-02-01 00:00' : wall(addDays(day, 400), slot * 5), rrule: rule, duration: 1800 }, 'm1');
          // Exceptions on real occurrences of daily/weekly rules: every other one deleted, the rest moved an hour on.
          const exceptions = rule.startsWith('FREQ=MONTHLY')
            ? []
            : picks.map((n, i) => {
                const original = wall(addDays(day, n * step), slot * 5);
                const moved = wall(addDays(day, n * step), slot * 5 + 60);
                return stored({ text: `Changed ${i}`, start_date: i % 2 ? original : moved, end_date: i % 2 ? original : wall(addDays(day, n * step), slot * 5 + 90), recurring_event_id: 'm1', original_start: original, ...(i % 2 && { deleted: true }) }, `e${i}`);
              });
          const back = roundTrip({ master, exceptions }, zone);
          expect(back.master).toMatchObject({ start_date: master.start_date, end_date: master.end_date, duration: 1800 });
          expect(String(back.master.rrule).split(';').sort()).toEqual(rule.split(';').sort());
          // An EXDATE carries only the occurrence it removes.
          const key = (e: Record<string, unknown>) => (e.deleted ? `${e.original_start}|deleted` : `${e.original_start}|${e.start_date}|${e.end_date}|${e.text}`);
          expect(back.exceptions.map(key).sort()).toEqual(exceptions.map((e) => key(e)).sort());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an instant is read into the zone by its rules, also in the hours after a change (ical.js issue #847) and in the hour that comes twice', () => {
    const sydney = icalZone('Australia/Sydney');
    const at = (utc: string) => recordFromTime(intoZone(ICAL.Time.fromDateTimeString(utc), sydney));
    // Summer time ended at 03:00 on 4 April 2021: 02:00-03:00 came twice, then +10.
    expect(at('2021-04-03T20:00:00Z')).toBe('2021-04-04 06:00');
    expect(at('2021-04-03T15:30:00Z')).toBe('2021-04-04 02:30');
    expect(at('2021-04-03T16:30:00Z')).toBe('2021-04-04 02:30');
    expect(at('2021-04-03T14:30:00Z')).toBe('2021-04-04 01:30');
    // And began at 02:00 on 3 October 2021 (+11).
    expect(at('2021-10-02T16:00:00Z')).toBe('2021-10-03 03:00');
    expect(at('2021-10-02T12:00:00Z')).toBe('2021-10-02 22:00');
    // The series fast-check found: it ends at 06:00 on the day the clocks went back, and still does.
    const master = stored({ text: 'Series', start_date: '2021-02-27 06:00', end_date: '2022-04-03 06:00', rrule: 'FREQ=DAILY', duration: 1800 }, 'm1');
    expect(roundTrip({ master, exceptions: [] }, 'Australia/Sydney').master).toMatchObject({ start_date: '2021-02-27 06:00', end_date: '2022-04-03 06:00' });
  });

  it('a weekly series that crosses a DST change keeps its wall-clock time on both sides, in the zone every TZID names', () => {
    const master = stored({ text: 'Sync', start_date: '2026-03-16 10:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 3600 }, 'm1');
    const moved = stored({ text: 'Sync', start_date: '2026-04-06 15:00', end_date: '2026-04-06 16:00', recurring_event_id: 'm1', original_start: '2026-04-06 10:00' }, 'e1');
    const { text } = roundTrip({ master, exceptions: [moved] }, 'Europe/Berlin');
    expect(text).toContain('DTSTART;TZID=Europe/Berlin:20260316T100000');
    expect(text).toContain('RECURRENCE-ID;TZID=Europe/Berlin:20260406T100000');
    expect(text).toContain('BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin');
    expect(text.match(/BEGIN:VTIMEZONE/g)).toHaveLength(1);
  });

  it('a client in another zone is converted into the calendar zone, including UNTIL, EXDATE and RECURRENCE-ID given in UTC', () => {
    const [vcalendar] = parseCalendars(
      [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x',
        'BEGIN:VEVENT', 'UID:u1', 'DTSTART:20260305T150000Z', 'DTEND:20260305T153000Z', 'RRULE:FREQ=WEEKLY;UNTIL=20260402T140000Z', 'EXDATE:20260312T150000Z', 'SUMMARY:Across', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:u1', 'RECURRENCE-ID:20260402T140000Z', 'DTSTART:20260402T160000Z', 'DTEND:20260402T163000Z', 'SUMMARY:Moved', 'END:VEVENT',
        'END:VCALENDAR', '',
      ].join('\r\n'),
    );
    resolveZones(vcalendar!);
    const mapped = mapEvent(vcalendar!.getAllSubcomponents('vevent'), icalZone('America/New_York'));
    // 15:00 UTC is 10:00 in New York in early March (EST) and 11:00 after March 8 (EDT): the series keeps its first wall time.
    expect(mapped.master).toMatchObject({ start_date: '2026-03-05 10:00', end_date: '2026-04-02 10:00', duration: 1800 });
    expect(mapped.exceptions.map((e) => [e.original_start, e.start_date, e.deleted ?? false])).toEqual([
      ['2026-03-12 11:00', '2026-03-12 11:00', true],
      ['2026-04-02 10:00', '2026-04-02 12:00', false],
    ]);
  });

  it('an EXDATE given as a date removes that day\'s occurrence of a timed series', () => {
    const [vcalendar] = parseCalendars(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:u2', 'DTSTART;TZID=Europe/Berlin:20260302T093000', 'DTEND;TZID=Europe/Berlin:20260302T100000', 'RRULE:FREQ=DAILY;COUNT=5', 'EXDATE;VALUE=DATE:20260304', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'));
    resolveZones(vcalendar!);
    const mapped = mapEvent(vcalendar!.getAllSubcomponents('vevent'), icalZone('Europe/Berlin'));
    expect(mapped.exceptions).toEqual([expect.objectContaining({ original_start: '2026-03-04 09:30', deleted: true })]);
  });

  it('VALARMs written by a client come back unchanged, absolute and several', () => {
    const alarms = ['BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:Soon', 'TRIGGER;RELATED=END:-PT5M', 'END:VALARM', 'BEGIN:VALARM', 'ACTION:AUDIO', 'TRIGGER;VALUE=DATE-TIME:20260302T083000Z', 'REPEAT:2', 'DURATION:PT5M', 'END:VALARM'].join('\r\n');
    const master = stored({ text: 'Alarmed', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00', alarms });
    const back = roundTrip({ master, exceptions: [] }, 'Europe/Berlin');
    expect(back.master.alarms).toBe(alarms);
    expect(calendarText([{ master, exceptions: [] }], { zone: 'Europe/Berlin', alarms: false })).not.toContain('VALARM');
  });

  it('names zones: IANA names and aliases, Windows names (CLDR), old Mozilla paths; refuses the rest', () => {
    expect(canonicalZone('UTC')).toBe('Etc/UTC');
    expect(canonicalZone('Asia/Calcutta')).toBe('Asia/Kolkata');
    expect(canonicalZone('Mars/Olympus')).toBeNull();
    expect(ianaForTzid('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(ianaForTzid('Eastern Standard Time')).toBe('America/New_York');
    expect(ianaForTzid('/mozilla.org/20050126_1/Europe/Paris')).toBe('Europe/Paris');
    expect(ianaForTzid('(UTC+01:00) Somewhere Else')).toBeNull();
  });

  it('refuses what the Scheduler cannot hold, saying what, before anything is stored', () => {
    const refusal = (...lines: string[]) => {
      const [vcalendar] = parseCalendars(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', ...lines, 'END:VCALENDAR', ''].join('\r\n'));
      try {
        mapEvent(vcalendar!.getAllSubcomponents('vevent'), icalZone('Europe/Berlin'));
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refusal('BEGIN:VEVENT', 'UID:a', 'DTSTART:20260302T100000Z', 'RRULE:FREQ=DAILY', 'RDATE:20260310T100000Z', 'END:VEVENT')).toMatch(/RDATE/);
    expect(refusal('BEGIN:VEVENT', 'UID:a', 'DTSTART:20260302T100000Z', 'RRULE:FREQ=DAILY', 'RRULE:FREQ=WEEKLY', 'END:VEVENT')).toMatch(/more than one RRULE/);
    expect(refusal('BEGIN:VEVENT', 'UID:a', 'RECURRENCE-ID:20260302T100000Z', 'DTSTART:20260302T110000Z', 'END:VEVENT')).toMatch(/without the series/);
    expect(refusal('BEGIN:VEVENT', 'UID:a', 'SUMMARY:no start', 'END:VEVENT')).toMatch(/no DTSTART/);
    expect(() => parseCalendars('BEGIN:VEVENT\r\nEND:VEVENT\r\n')).toThrow(/VCALENDAR/);
    expect(() => parseCalendars('garbage')).toThrow(/not iCalendar/);
  });
});
