import fc from 'fast-check';
import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { zoneClock } from '../main/dav/wallClock.js';
import { planReminders, reminderText, type PlanInput } from '../main/desktop/reminderPlan.js';

// The planner both the desktop and a browser page use: occurrence by occurrence, in the calendar's zone.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);
const plan = (input: Partial<PlanInput>, now: number, lookbackMs = 2 * DAY, horizonMs = 2 * DAY) =>
  planReminders({ events: [], calendars: [], zone: 'Europe/Berlin', choices: {}, ...input }, { now, lookbackMs, horizonMs });

/** Every reminder time of the input from `from` on, by stepping `now` to each next one. */
function fireTimes(input: Partial<PlanInput>, from: number, count: number): number[] {
  const times: number[] = [];
  let now = from;
  while (times.length < count) {
    const next = plan(input, now, 0, 30 * DAY).next;
    if (next === null) break;
    const due = plan(input, next, 0, 30 * DAY).due.filter((r) => r.fireAt === next);
    expect(due.length).toBeGreaterThan(0);
    times.push(next);
    now = next;
  }
  return times;
}

describe('zone clock', () => {
  it('reads a skipped hour with the offset from before, and a doubled hour as its first', () => {
    const berlin = zoneClock('Europe/Berlin');
    const wall = (d: string, h: number, mi = 0) => {
      const [y, mo, day] = d.split('-').map(Number);
      return { y: y!, mo: mo!, d: day!, h, mi, s: 0 };
    };
    expect(new Date(berlin.instant(wall('2026-03-29', 2, 30))).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(new Date(berlin.instant(wall('2026-10-25', 2, 30))).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(new Date(berlin.instant(wall('2026-07-01', 9))).toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(new Date(zoneClock('America/New_York').instant(wall('2026-01-15', 9))).toISOString()).toBe('2026-01-15T14:00:00.000Z');
  });

  it('gives back the same wall clock for any instant, in any zone', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham'];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: at('2020-01-01T00:00:00Z') / 60_000, max: at('2035-01-01T00:00:00Z') / 60_000 }), (zone, minute) => {
        const clock = zoneClock(zone);
        const instant = minute * 60_000;
        const local = new Date(instant + clock.offsetAt(instant));
        const wall = { y: local.getUTCFullYear(), mo: local.getUTCMonth() + 1, d: local.getUTCDate(), h: local.getUTCHours(), mi: local.getUTCMinutes(), s: 0 };
        // The first instant with this wall clock: this one, or an hour earlier in a doubled hour.
        const back = clock.instant(wall);
        expect(back === instant || (back < instant && instant - back <= HOUR)).toBe(true);
        expect(new Date(back + clock.offsetAt(back)).getTime()).toBe(local.getTime());
      }),
      { numRuns: 500 },
    );
  });
});

describe('reminders', () => {
  const meeting = { id: 'e1', text: 'Plan &#60;Q3&#62;', start_date: '2026-05-04 10:00', end_date: '2026-05-04 11:00', calendar_id: 'room' };

  it('reminds of one event at the chosen lead time, once it is due, with its title as typed', () => {
    const input = { events: [meeting], choices: { e1: 10 } };
    const before = plan(input, at('2026-05-04T07:00:00Z'));
    expect(before.due).toEqual([]);
    expect(new Date(before.next!).toISOString()).toBe('2026-05-04T07:50:00.000Z');
    const [due, ...rest] = plan(input, before.next!).due;
    expect(rest).toEqual([]);
    expect(due).toMatchObject({ eventId: 'e1', series: false, text: 'Plan <Q3>', start: '2026-05-04 10:00', minutes: 10 });
    expect(reminderText(due!, before.next!)).toEqual({ title: 'Plan <Q3>', body: 'In 10 min · 10:00–11:00' });
    // After the event has ended there is nothing left to say.
    expect(plan(input, at('2026-05-04T09:00:01Z')).due).toEqual([]);
  });

  it('uses a calendar’s default for those who show it; a choice of none silences it; VALARMs play no part', () => {
    const calendars = [{ id: 'room', name: 'Meeting room A', reminder_minutes: 15 }];
    const alarmed = { ...meeting, alarms: 'BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT30M\r\nEND:VALARM' };
    const now = at('2026-05-04T07:45:00Z');
    expect(plan({ events: [alarmed], calendars }, now).due.map((r) => r.minutes)).toEqual([15]);
    expect(plan({ events: [alarmed], calendars, hidden: new Set(['room']) }, now).due).toEqual([]);
    expect(plan({ events: [alarmed], calendars, choices: { e1: 'none' } }, now).due).toEqual([]);
    // Without a calendar default or a choice, a VALARM reminds of nothing.
    expect(plan({ events: [alarmed] }, at('2026-05-04T07:31:00Z')).due).toEqual([]);
    expect(plan({ events: [alarmed] }, at('2026-05-04T07:31:00Z')).next).toBeNull();
  });

  it('reminds of a daily series occurrence by occurrence, at 08:50 on the wall across both DST changes', () => {
    const daily = { id: 's1', text: 'Stand-up', start_date: '2026-03-27 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=DAILY', duration: 900 };
    const spring = fireTimes({ events: [daily], choices: { s1: 10 } }, at('2026-03-27T00:00:00Z'), 4).map((t) => new Date(t).toISOString());
    expect(spring).toEqual(['2026-03-27T07:50:00.000Z', '2026-03-28T07:50:00.000Z', '2026-03-29T06:50:00.000Z', '2026-03-30T06:50:00.000Z']);
    const ny = { ...daily, start_date: '2026-10-30 09:00' };
    const autumn = fireTimes({ events: [ny], zone: 'America/New_York', choices: { s1: 60 } }, at('2026-10-30T00:00:00Z'), 4).map((t) => new Date(t).toISOString());
    expect(autumn).toEqual(['2026-10-30T12:00:00.000Z', '2026-10-31T12:00:00.000Z', '2026-11-01T13:00:00.000Z', '2026-11-02T13:00:00.000Z']);
  });

  it('skips a deleted occurrence, follows a moved one, and ends the series at its end', () => {
    const weekly = { id: 's2', text: 'Review', start_date: '2026-06-01 14:00', end_date: '2026-06-29 14:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 3600, calendar_id: 'room' };
    const deleted = { id: 'x1', text: 'Review', start_date: '2026-06-08 14:00', end_date: '2026-06-08 15:00', recurring_event_id: 's2', original_start: '2026-06-08 14:00', deleted: true };
    const moved = { id: 'x2', text: 'Review (moved)', start_date: '2026-06-16 09:00', end_date: '2026-06-16 10:00', recurring_event_id: 's2', original_start: '2026-06-15 14:00' };
    const input = { events: [weekly, deleted, moved], choices: { s2: 30 } };
    const times = fireTimes(input, at('2026-05-31T00:00:00Z'), 10);
    expect(times.map((t) => new Date(t).toISOString())).toEqual([
      '2026-06-01T11:30:00.000Z',
      '2026-06-16T06:30:00.000Z',
      '2026-06-22T11:30:00.000Z',
      '2026-06-29T11:30:00.000Z',
    ]);
    const movedDue = plan(input, times[1]!).due.find((r) => r.fireAt === times[1]);
    // The moved occurrence is its own record, reminded by the series' choice.
    expect(movedDue).toMatchObject({ eventId: 'x2', series: false, text: 'Review (moved)', start: '2026-06-16 09:00' });
    expect(plan(input, times[0]!).due[0]).toMatchObject({ eventId: 's2', series: true, start: '2026-06-01 14:00' });
  });

  it('reminds of an old series as if stepped from its first day (rules that filter, count or skip weeks)', () => {
    const rules = ['FREQ=DAILY;BYDAY=MO,WE', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR', 'FREQ=DAILY;COUNT=1200', 'FREQ=DAILY;COUNT=1100', 'FREQ=HOURLY;INTERVAL=5', 'FREQ=DAILY;INTERVAL=3;BYMONTH=5,6'];
    const from = at('2026-05-01T00:00:00Z');
    for (const rrule of rules) {
      // Started on a Sunday three years before: DTSTART matches none of the filtering rules.
      const series = { id: 's', text: 'Old', start_date: '2023-04-30 09:00', end_date: '9999-02-01 00:00', rrule, duration: 600 };
      const got = fireTimes({ events: [series], zone: 'UTC', choices: { s: 5 } }, from, 6).map((t) => new Date(t + 5 * 60_000).toISOString());
      // The same occurrences, stepped by ical.js from the first.
      const iterator = ICAL.Recur.fromString(rrule).iterator(ICAL.Time.fromData({ year: 2023, month: 4, day: 30, hour: 9, minute: 0, second: 0, isDate: false }));
      const expected: string[] = [];
      for (let next = iterator.next(); next && expected.length < 6; next = iterator.next()) {
        const t = Date.UTC(next.year, next.month - 1, next.day, next.hour, next.minute);
        if (t - 5 * 60_000 > from) expected.push(new Date(t).toISOString());
      }
      expect(got, rrule).toEqual(expected);
    }
  });

  it('shows a reminder that came due while the desk was off, as long as its event has not ended', () => {
    const input = { events: [meeting], choices: { e1: 60 } };
    // Started an hour late: the meeting is on, so its reminder is due now, with the same key as on time.
    const late = plan(input, at('2026-05-04T08:20:00Z')).due;
    const onTime = plan(input, at('2026-05-04T07:00:00Z')).due;
    expect(late).toHaveLength(1);
    expect(onTime.map((r) => r.key)).toEqual(late.map((r) => r.key));
    expect(reminderText(late[0]!, at('2026-05-04T08:20:00Z')).body).toBe('Started · 10:00–11:00');
    expect(plan(input, at('2026-05-04T09:30:00Z')).due).toEqual([]);
    // Beyond the look-back, nothing is shown even for an event still on.
    const long = { ...meeting, end_date: '2026-05-20 10:00' };
    expect(plan({ events: [long], choices: { e1: 10 } }, at('2026-05-10T08:00:00Z')).due).toEqual([]);
  });

  it('keys a reminder by occurrence, start and lead time, so a moved event or another choice reminds again', () => {
    const now = at('2026-05-04T07:55:00Z');
    const key = (input: Partial<PlanInput>) => plan(input, now).due.map((r) => r.key);
    const first = key({ events: [meeting], choices: { e1: 10 } });
    expect(key({ events: [meeting], choices: { e1: 10 } })).toEqual(first);
    expect(key({ events: [meeting], choices: { e1: 15 } })).not.toEqual(first);
    expect(key({ events: [{ ...meeting, start_date: '2026-05-04 10:02' }], choices: { e1: 10 } })).not.toEqual(first);
  });
});
