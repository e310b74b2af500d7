// Wall-clock times of one calendar zone: the records' "YYYY-MM-DD HH:MM" read, written and placed
// in time through the zone's IANA rules with Intl. CalDAV, the feed and the reminder planner use it,
// and a browser page runs the planner too, so this file imports nothing but ical.js.
import ICAL from 'ical.js';

/** The Scheduler's "no end" for a series that repeats forever. */
export const NO_END = '9999-02-01 00:00';
export const DAY_MS = 86_400_000;
/** No series is stepped through further than this many occurrences from its start (an hourly series over years): a bound, not a hang. */
export const MAX_SERIES_STEPS = 20_000;

const WALL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?$/;
// The start of a record's date, whatever follows it (parseWall): unlike WALL, not anchored at the end.
const WALL_START = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A wall-clock time as records hold it, in no zone. */
export interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** The wall clock at the start of a record's date ("2026-03-02 09:00", or a date alone: midnight). */
export function parseWall(value: unknown): Wall | null {
  const m = WALL_START.exec(String(value ?? ''));
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((p) => p ?? '0');
  return { y: +y!, mo: +mo!, d: +d!, h: +h, mi: +mi, s: +s };
}

/** The wall-clock string a record holds ("2026-03-02 09:00", seconds only when there are some). */
export const wallText = (w: Wall) => `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}${w.s ? `:${pad(w.s)}` : ''}`;
/** A wall clock as if it were UTC: for wall arithmetic and comparisons only. */
export const wallMs = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
export const wallOf = (ms: number): Wall => {
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
};
/** An ical.js time's wall clock, its zone set aside. */
export const wallOfTime = (t: ICAL.Time): Wall => ({ y: t.year, mo: t.month, d: t.day, h: t.hour, mi: t.minute, s: t.second });

const newFormat = (tzid: string) =>
  new Intl.DateTimeFormat('en-US', { timeZone: tzid, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
// One formatter per zone (making one is the slow part of Intl); null for a zone Intl does not know.
const formats = new Map<string, Intl.DateTimeFormat | null>();

function zoneFormat(tzid: string): Intl.DateTimeFormat | null {
  let format = formats.get(tzid);
  if (format === undefined) {
    try {
      format = newFormat(tzid);
    } catch {
      format = null;
    }
    formats.set(tzid, format);
  }
  return format;
}

/** The wall clock a zone's formatter shows at an instant (ms since 1970). */
function wallAt(format: Intl.DateTimeFormat, ms: number): Wall {
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') part[p.type] = Number(p.value);
  return { y: part.year!, mo: part.month!, d: part.day!, h: part.hour!, mi: part.minute!, s: part.second! };
}

/**
 * Places wall-clock times of one zone in time. A time that does not exist (the hour skipped in
 * spring) is read with the offset from before the change, a time that exists twice (autumn) as
 * the first of the two: what RFC 5545 asks of calendar apps. A zone Intl does not know throws
 * Intl's RangeError.
 */
export function zoneClock(zone: string) {
  const format = zoneFormat(zone) ?? newFormat(zone);
  // Offsets change on whole minutes: one answer per minute asked (Intl is the slow part of a plan).
  const known = new Map<number, number>();
  /** The zone's offset from UTC at an instant, in ms. */
  const offsetAt = (instant: number) => {
    const minute = Math.floor(instant / 60_000);
    let offset = known.get(minute);
    if (offset === undefined) {
      offset = wallMs(wallAt(format, minute * 60_000)) - minute * 60_000;
      known.set(minute, offset);
    }
    return offset;
  };
  return {
    offsetAt,
    instant(wall: Wall): number {
      const asUtc = wallMs(wall);
      const before = offsetAt(asUtc - DAY_MS / 2);
      const after = offsetAt(asUtc + DAY_MS / 2);
      // No change of offset within half a day either side: the usual case.
      if (before === after) return asUtc - before;
      const fits = [before, after].map((o) => asUtc - o).filter((t) => offsetAt(t) === asUtc - t);
      return fits.length ? Math.min(...fits) : asUtc - before;
    },
  };
}

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
  const wall = wallOfTime(time);
  return wallText(time.isDate ? { ...wall, h: 0, mi: 0, s: 0 } : wall);
}

/**
 * Where a series' rule ends: the record's end_date, as the Scheduler ends a series there (it
 * appends UNTIL=end_date when it expands) unless the rule counts; null for no end ("9999" never ends).
 */
export function seriesUntil(recur: ICAL.Recur, endDate: unknown): string | null {
  const end = String(endDate ?? '');
  return !recur.count && end && !end.startsWith('9999') ? end : null;
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

/**
 * The wall clock in `zone` at an instant (seconds since 1970). Not ical.js's convertToZone: going
 * from UTC into a zone, it looks the offset up as if the UTC time were local (ical.js issue #847),
 * so for the hours after a change it is off by the change (Sydney, 4 April 2021, 06:00 became
 * 07:00). The zone's IANA rules through Intl (the tz database the runtime carries) say it right;
 * a zone Intl does not know keeps ical.js's answer.
 */
export function instantInZone(seconds: number, zone: ICAL.Timezone): ICAL.Time {
  const format = zoneFormat(zone === ICAL.Timezone.utcTimezone ? 'Etc/UTC' : zone.tzid);
  if (!format) {
    const utc = new ICAL.Time({ year: 1970, month: 1, day: 1, isDate: false }, ICAL.Timezone.utcTimezone);
    utc.fromUnixTime(seconds);
    return utc.convertToZone(zone);
  }
  const w = wallAt(format, Math.floor(seconds) * 1000);
  return new ICAL.Time({ year: w.y, month: w.mo, day: w.d, hour: w.h, minute: w.mi, second: w.s, isDate: false }, zone);
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
