// When reminders are due: the desktop's main process and a browser page both plan with this file,
// so it stays free of Node and DOM imports. Series are expanded by ical.js on the wall clock (as
// the Scheduler and RFC 5545 repeat them: 09:00 stays 09:00 across a DST change) and each
// occurrence is placed in time through the calendar's IANA zone with Intl, which Node, Electron
// and every browser carry. VALARMs written by calendar apps are never read here: a desk reminds
// only of what its person chose, or of the default of a calendar the person shows.
import ICAL from 'ical.js';
import { DAY_MS, MAX_SERIES_STEPS, parseWall, seriesUntil, wallMs, wallOf, wallOfTime, wallText, zoneClock, type Wall } from '../dav/wallClock.js';
import { unescapeHtml } from '../server/validate.js';
import { isChoice, REMIND_MINUTES, type Choice } from './ipc.js';

type Rec = { id: string } & Record<string, unknown>;

export interface PlanInput {
  /** Event records as stored (text HTML-escaped), or as REST answers them (the same). */
  events: Rec[];
  /** Calendar records: `reminder_minutes` is a calendar's default for everyone who shows it. */
  calendars: Rec[];
  /** The calendar's IANA zone: the records' wall-clock dates are in it. */
  zone: string;
  /** This desk's (or browser's) own choices, by event id (a series' id covers its occurrences). */
  choices: Readonly<Record<string, Choice>>;
  /** Calendars this person hides: their defaults do not apply. */
  hidden?: ReadonlySet<string>;
}

/** One reminder of one occurrence. */
export interface Reminder {
  /** Unique per occurrence, start and lead time: a reminder with the same key is shown once. */
  key: string;
  /** The record to open: the event, a changed occurrence, or the series an occurrence belongs to. */
  eventId: string;
  /** Whether `eventId` is a series (the occurrence is its one starting at `start`). */
  series: boolean;
  text: string;
  /** Wall-clock start and end in the calendar's zone, as records hold them. */
  start: string;
  end: string;
  startAt: number;
  endAt: number;
  fireAt: number;
  minutes: number;
}

export interface PlanWindow {
  now: number;
  /** Reminders that came due this long ago (the app was off) are still shown if their event has not ended. */
  lookbackMs: number;
  /** How far ahead to look for the next reminder. */
  horizonMs: number;
}

export interface Plan {
  /** Due now (at or before `now`, event not ended), oldest first. */
  due: Reminder[];
  /** When the next reminder after `now` is due, within the horizon; null if none. */
  next: number | null;
}

const floating = (w: Wall) => ICAL.Time.fromData({ year: w.y, month: w.mo, day: w.d, hour: w.h, minute: w.mi, second: w.s, isDate: false });

interface Occurrence {
  record: Rec;
  /** The series the occurrence belongs to (its choice covers the occurrence), if any. */
  seriesId: string | null;
  /** Whether it is an occurrence the series itself makes (not a changed one with its own record). */
  series: boolean;
  start: Wall;
  end: Wall;
}

const PERIOD_MS: Partial<Record<string, number>> = { HOURLY: 3_600_000, DAILY: DAY_MS, WEEKLY: 7 * DAY_MS };

/**
 * How many whole periods of a series lie before `firstWall`, less one: the series may start that
 * much later without changing an occurrence in the window (a desk plans every few seconds, and a
 * daily series of ten years would otherwise be stepped through from its first day each time).
 * Only where a period is fixed (hourly, daily, weekly) and, for a rule that counts, holds exactly
 * one occurrence; the one period kept in hand takes a first occurrence that a BYxxx rule would not
 * make (RFC 5545 counts DTSTART always) out of the window.
 */
function skippable(recur: ICAL.Recur, start: Wall, firstWall: number): number {
  const period = PERIOD_MS[recur.freq ?? ''];
  if (!period) return 0;
  const k = Math.floor((firstWall - wallMs(start)) / (period * (recur.interval || 1))) - 1;
  if (k <= 0 || (recur.count && Object.keys(recur.parts ?? {}).length > 0)) return 0;
  return k;
}

/** The starts of a series from its first until `lastWall` (wall ms), on the wall clock. */
function* seriesStarts(master: Rec, firstWall: number, lastWall: number): Generator<Wall> {
  let start = parseWall(master.start_date);
  if (!start) return;
  let recur: ICAL.Recur;
  try {
    recur = ICAL.Recur.fromString(String(master.rrule));
  } catch {
    return; // Checked when written; an unreadable rule reminds of nothing rather than stopping every reminder.
  }
  recur.until = null;
  const end = seriesUntil(recur, master.end_date);
  const until = end && parseWall(end);
  if (until) recur.until = floating(until);
  const skip = skippable(recur, start, firstWall);
  if (skip > 0) {
    if (recur.count && recur.count <= skip) return;
    if (recur.count) recur.count -= skip;
    start = wallOf(wallMs(start) + skip * PERIOD_MS[recur.freq!]! * (recur.interval || 1));
  }
  const iterator = recur.iterator(floating(start));
  let steps = 0;
  for (let next = iterator.next(); next && steps < MAX_SERIES_STEPS; next = iterator.next(), steps++) {
    const wall = wallOfTime(next);
    if (wallMs(wall) > lastWall) return;
    yield wall;
  }
}

/** Occurrences that start within [firstWall, lastWall] (wall ms): singles, exceptions and expanded series. */
function occurrences(events: Rec[], firstWall: number, lastWall: number): Occurrence[] {
  const out: Occurrence[] = [];
  // Every changed or deleted occurrence replaces the original, which the series then skips.
  const replaced = new Set<string>();
  for (const e of events) {
    const original = e.recurring_event_id ? parseWall(e.original_start) : null;
    if (original) replaced.add(`${e.recurring_event_id}|${wallMs(original)}`);
  }
  const within = (w: Wall) => wallMs(w) >= firstWall && wallMs(w) <= lastWall;
  // Dates compare as text: most records are out of the window on their date alone (a day of margin
  // either side for a date written with an offset).
  const firstDate = wallText(wallOf(firstWall - DAY_MS)).slice(0, 10);
  const lastDate = wallText(wallOf(lastWall + DAY_MS)).slice(0, 10);
  for (const e of events) {
    const isSeries = typeof e.rrule === 'string' && e.rrule !== '' && !e.recurring_event_id;
    if (!isSeries) {
      const date = String(e.start_date ?? '').slice(0, 10);
      if (date < firstDate || date > lastDate) continue;
    }
    const start = parseWall(e.start_date);
    if (!start) continue;
    if (!isSeries) {
      const end = parseWall(e.end_date);
      if (e.deleted || !end || !within(start)) continue;
      out.push({ record: e, seriesId: e.recurring_event_id ? String(e.recurring_event_id) : null, series: false, start, end });
      continue;
    }
    const seriesEnd = parseWall(e.end_date);
    if (wallMs(start) > lastWall || (seriesEnd && wallMs(seriesEnd) < firstWall)) continue;
    const seconds = Math.max(0, Number(e.duration) || 0);
    for (const at of seriesStarts(e, firstWall, lastWall)) {
      if (!within(at) || replaced.has(`${e.id}|${wallMs(at)}`)) continue;
      out.push({ record: e, seriesId: e.id, series: true, start: at, end: wallOf(wallMs(at) + seconds * 1000) });
    }
  }
  return out;
}

/** The lead time that applies to an occurrence: the person's choice, else the default of a calendar they show. */
function leadOf(o: Occurrence, input: PlanInput, defaults: Map<string, number>): number | null {
  const own = input.choices[o.record.id] ?? (o.seriesId === null ? undefined : input.choices[o.seriesId]);
  if (own !== undefined) return own === 'none' ? null : own;
  const calendar = typeof o.record.calendar_id === 'string' ? o.record.calendar_id : '';
  if (!calendar || input.hidden?.has(calendar)) return null;
  return defaults.get(calendar) ?? null;
}

/** What is due at `now` and when the next reminder is, for everything the input holds. */
export function planReminders(input: PlanInput, window: PlanWindow): Plan {
  const clock = zoneClock(input.zone);
  const defaults = new Map<string, number>();
  for (const c of input.calendars) {
    const minutes = Number(c.reminder_minutes);
    if (isChoice(minutes)) defaults.set(c.id, minutes);
  }
  const longest = Math.max(...REMIND_MINUTES) * 60_000;
  // Bounds on the wall clock, a day wider on each side than any zone's offset.
  const nowWall = window.now + clock.offsetAt(window.now);
  const found = occurrences(input.events, nowWall - window.lookbackMs - DAY_MS, nowWall + window.horizonMs + longest + DAY_MS);
  const due: Reminder[] = [];
  let next: number | null = null;
  for (const o of found) {
    const minutes = leadOf(o, input, defaults);
    if (minutes === null) continue;
    const startAt = clock.instant(o.start);
    const endAt = Math.max(startAt, clock.instant(o.end));
    const fireAt = startAt - minutes * 60_000;
    if (fireAt > window.now) {
      if (fireAt <= window.now + window.horizonMs && (next === null || fireAt < next)) next = fireAt;
      continue;
    }
    // Due: shown if it came due at most `lookbackMs` ago and its event has not ended (or is a moment long and starts now).
    if (fireAt < window.now - window.lookbackMs || endAt < window.now || (endAt === window.now && startAt < window.now)) continue;
    due.push({
      key: `${o.record.id}|${startAt}|${minutes}`,
      eventId: o.record.id,
      series: o.series,
      text: unescapeHtml(String(o.record.text ?? '')),
      start: wallText(o.start),
      end: wallText(o.end),
      startAt,
      endAt,
      fireAt,
      minutes,
    });
  }
  due.sort((a, b) => a.fireAt - b.fireAt || a.key.localeCompare(b.key));
  return { due, next };
}

/** What a notification says: the event's title, and when it starts (or started). */
export function reminderText(reminder: Reminder, now: number): { title: string; body: string } {
  const time = (wall: string) => wall.slice(11, 16);
  const sameDay = reminder.start.slice(0, 10) === reminder.end.slice(0, 10);
  const span = sameDay ? `${time(reminder.start)}–${time(reminder.end)}` : `${reminder.start.slice(0, 16)} – ${reminder.end.slice(0, 16)}`;
  const minutes = Math.round((reminder.startAt - now) / 60_000);
  const when =
    minutes <= 0
      ? reminder.startAt < now - 60_000
        ? 'Started'
        : 'Now'
      : minutes >= 120
        ? `In ${Math.round(minutes / 60)} hours`
        : minutes >= 60
          ? `In 1 hour${minutes > 60 ? ` ${minutes - 60} min` : ''}`
          : `In ${minutes} min`;
  return { title: reminder.text || '(no title)', body: `${when} · ${span}` };
}
