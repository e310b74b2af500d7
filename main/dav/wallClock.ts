import ICAL from 'ical.js';

/** The Scheduler's "no end" for a series that repeats forever. */
export const NO_END = '9999-02-01 00:00';

const WALL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?$/;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * A record's date as an ical.js time in the calendar's zone. Records hold wall-clock strings
 * ("2026-03-02 10:00") in that zone; an ISO date with an offset (as some API clients send) is
 * an instant and is converted into it.
 */
export function timeFromRecord(value: unknown, zone: ICAL.Timezone): ICAL.Time {
  const text = String(value ?? '');
  const m = WALL.exec(text);
  if (m) {
    const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((p) => p ?? '0');
    return new ICAL.Time({ year: +y!, month: +mo!, day: +d!, hour: +h, minute: +mi, second: +s, isDate: false }, zone);
  }
  const instant = new Date(text);
  if (Number.isNaN(instant.getTime())) throw new TypeError(`not a date: ${text.slice(0, 40)}`);
  return instantInZone(instant.getTime() / 1000, zone);
}

/** The wall-clock string a record holds for a time already in the calendar's zone. */
export function recordFromTime(time: ICAL.Time): string {
  const date = `${pad(time.year, 4)}-${pad(time.month)}-${pad(time.day)}`;
  if (time.isDate) return `${date} 00:00`;
  const seconds = time.second ? `:${pad(time.second)}` : '';
  return `${date} ${pad(time.hour)}:${pad(time.minute)}${seconds}`;
}

/** A client's time in the calendar's zone. Floating times (no zone) already are its wall clock. */
export function intoZone(time: ICAL.Time, zone: ICAL.Timezone): ICAL.Time {
  if (time.isDate) return time.clone();
  if (isFloating(time)) {
    const copy = time.clone();
    copy.zone = zone;
    return copy;
  }
  return instantInZone(time.toUnixTime(), zone);
}

const formats = new Map<string, Intl.DateTimeFormat | null>();

/**
 * The wall clock in `zone` at an instant (seconds since 1970). Not ical.js's convertToZone: going
 * from UTC into a zone, it looks the offset up as if the UTC time were local (ical.js issue #847),
 * so for the hours after a change it is off by the change (Sydney, 4 April 2021, 06:00 became
 * 07:00). The zone's IANA rules through Intl (the tz database the runtime carries) say it right;
 * a zone Intl does not know keeps ical.js's answer.
 */
export function instantInZone(seconds: number, zone: ICAL.Timezone): ICAL.Time {
  const tzid = zone === ICAL.Timezone.utcTimezone ? 'Etc/UTC' : zone.tzid;
  let format = formats.get(tzid);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: tzid, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      format = null;
    }
    formats.set(tzid, format);
  }
  if (!format) {
    const utc = new ICAL.Time({ year: 1970, month: 1, day: 1, isDate: false }, ICAL.Timezone.utcTimezone);
    utc.fromUnixTime(seconds);
    return utc.convertToZone(zone);
  }
  const whole = Math.floor(seconds);
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(whole * 1000)) if (p.type !== 'literal') part[p.type] = Number(p.value);
  return new ICAL.Time({ year: part.year!, month: part.month!, day: part.day!, hour: part.hour!, minute: part.minute!, second: part.second!, isDate: false }, zone);
}

export function isFloating(time: ICAL.Time): boolean {
  return !time.zone || time.zone === ICAL.Timezone.localTimezone || time.zone.tzid === 'floating';
}

/** The date part of a time as an all-day (DATE) value. */
export function asDate(time: ICAL.Time): ICAL.Time {
  return new ICAL.Time({ year: time.year, month: time.month, day: time.day, isDate: true }, ICAL.Timezone.localTimezone);
}

/** Wall-clock arithmetic: the same zone, `seconds` later on the clock (what a series' duration means). */
export function addSeconds(time: ICAL.Time, seconds: number): ICAL.Time {
  const copy = time.clone();
  copy.addDuration(ICAL.Duration.fromSeconds(seconds));
  return copy;
}

/** Whether a record's date string is midnight (the all-day form). */
export function isMidnight(value: unknown): boolean {
  const m = WALL.exec(String(value ?? ''));
  return !!m && (m[4] ?? '00') === '00' && (m[5] ?? '00') === '00' && (m[6] ?? '00') === '00';
}

/**
 * Seconds between two times of one zone as the clock on the wall reads them: the Scheduler keeps a
 * series' occurrence length that way (10:00-11:00 stays one hour on the night the clocks change).
 */
export function wallSeconds(start: ICAL.Time, end: ICAL.Time): number {
  const utc = (t: ICAL.Time) => Date.UTC(t.year, t.month - 1, t.day, t.isDate ? 0 : t.hour, t.isDate ? 0 : t.minute, t.isDate ? 0 : t.second);
  return Math.round((utc(end) - utc(start)) / 1000);
}
