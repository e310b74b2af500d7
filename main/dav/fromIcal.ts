import ICAL from 'ical.js';
import { limits } from '../server/validate.js';
import { DavError } from './davError.js';
import { addSeconds, asDate, intoZone, NO_END, recordFromTime, wallSeconds } from './wallClock.js';
import { canonicalZone, ianaForTzid, vtimezone } from './zones.js';

/** A resource as record bodies in plain text, ready for `validateRecord` (which escapes them). */
export interface MappedEvent {
  uid: string;
  master: Record<string, unknown>;
  /** Modified occurrences and (with `deleted: true`) EXDATEs, each with `original_start`. */
  exceptions: Record<string, unknown>[];
}

const refuse = (message: string) => new DavError(403, 'valid-calendar-object-resource', message);

/** Parses iCalendar text into its VCALENDARs; garbage is a 400. */
export function parseCalendars(text: string): ICAL.Component[] {
  let parsed: unknown;
  try {
    parsed = ICAL.parse(text);
  } catch (err) {
    throw new DavError(400, 'valid-calendar-data', `the body is not iCalendar: ${String((err as Error).message).slice(0, 120)}`);
  }
  const list = (Array.isArray(parsed) && typeof parsed[0] !== 'string' ? parsed : [parsed]) as any[];
  const calendars = list.map((jcal) => new ICAL.Component(jcal));
  if (calendars.length === 0 || calendars.some((c) => c.name !== 'vcalendar')) {
    throw new DavError(400, 'valid-calendar-data', 'the body is not iCalendar: it must be BEGIN:VCALENDAR … END:VCALENDAR');
  }
  return calendars;
}

/**
 * Makes every TZID in a VCALENDAR resolvable before any date is read, since ical.js reads an unknown
 * TZID as floating time: IANA names and Windows names (Outlook) become the IANA zone with its
 * VTIMEZONE from the zone library; other names must come with their own VTIMEZONE. Answers the
 * TZIDs that are none of these (events that use them cannot be read).
 */
export function resolveZones(vcalendar: ICAL.Component): Set<string> {
  const sent = new Set(vcalendar.getAllSubcomponents('vtimezone').map((z) => String(z.getFirstPropertyValue('tzid'))));
  const unknown = new Set<string>();
  const visit = (component: ICAL.Component) => {
    for (const prop of component.getAllProperties()) {
      const tzid = prop.getParameter('tzid');
      if (typeof tzid !== 'string' || !tzid) continue;
      // An IANA name keeps the rules sent with it; a Windows name (Outlook sends only today's rules) becomes its IANA zone.
      const iana = ianaForTzid(tzid);
      if (sent.has(tzid) && (!iana || canonicalZone(tzid))) continue;
      if (!iana) {
        unknown.add(tzid);
        continue;
      }
      prop.setParameter('tzid', iana);
      if (!sent.has(iana)) {
        vcalendar.addSubcomponent(vtimezone(iana));
        sent.add(iana);
      }
    }
    for (const child of component.getAllSubcomponents()) if (child.name !== 'vtimezone') visit(child);
  };
  visit(vcalendar);
  return unknown;
}

/** The TZIDs a component and its children use. */
export function tzidsOf(component: ICAL.Component): string[] {
  const own = component.getAllProperties().map((p) => p.getParameter('tzid')).filter((t): t is string => typeof t === 'string' && !!t);
  return [...own, ...component.getAllSubcomponents().flatMap(tzidsOf)];
}

export const unknownZone = (tzid: string) =>
  new DavError(403, 'valid-calendar-data', `the time zone ${JSON.stringify(tzid.slice(0, 60))} is neither an IANA or Windows zone nor defined by a VTIMEZONE sent with it`);

interface Context {
  zone: ICAL.Timezone;
  /** The zone floating times are in: the file's X-WR-TIMEZONE (Google) or the calendar's. */
  floating: ICAL.Timezone;
}

/** A client's time in the calendar's zone (floating times are read in `ctx.floating` first). */
const inCalendar = (time: ICAL.Time, ctx: Context) => intoZone(intoZone(time, ctx.floating), ctx.zone);

/** A client's time as the calendar's wall clock. */
const wall = (time: ICAL.Time, ctx: Context) => recordFromTime(time.isDate ? time : inCalendar(time, ctx));

const text = (component: ICAL.Component, name: string) => {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? undefined : String(value);
};

function alarmsOf(component: ICAL.Component): string | undefined {
  const alarms = component.getAllSubcomponents('valarm');
  return alarms.length ? alarms.map((a) => a.toString()).join('\r\n') : undefined;
}

/** DTSTART and the end (DTEND, DURATION, or the RFC 5545 defaults) of one VEVENT. */
function span(vevent: ICAL.Component): { start: ICAL.Time; end: ICAL.Time } {
  const start = vevent.getFirstPropertyValue('dtstart') as ICAL.Time | null;
  if (!start) throw refuse('an event has no DTSTART');
  const dtend = vevent.getFirstPropertyValue('dtend') as ICAL.Time | null;
  const duration = vevent.getFirstPropertyValue('duration') as ICAL.Duration | null;
  let end = dtend ?? (duration ? addSeconds(start, duration.toSeconds()) : addSeconds(start, start.isDate ? 86_400 : 0));
  if (start.isDate && !end.isDate) end = asDate(end);
  if (end.compare(start) < 0) end = start.clone();
  if (start.isDate && end.compare(start) === 0) end = addSeconds(start, 86_400);
  return { start, end };
}

function fields(vevent: ICAL.Component, ctx: Context) {
  const { start, end } = span(vevent);
  const body: Record<string, unknown> = {
    text: text(vevent, 'summary') ?? '',
    start_date: wall(start, ctx),
    end_date: wall(end, ctx),
  };
  const details = text(vevent, 'description');
  const location = text(vevent, 'location');
  const alarms = alarmsOf(vevent);
  if (details) body.details = details;
  if (location) body.location = location;
  if (alarms) body.alarms = alarms;
  return { body, start, end };
}

/**
 * Maps the VEVENTs of one UID (a master and its RECURRENCE-ID overrides) to the Scheduler 7 format:
 * the series carries `rrule`, `duration` and its end as `end_date`; EXDATEs and overrides become
 * exception records with `recurring_event_id` (set by the writer), `original_start` and `deleted`.
 */
export function mapEvent(vevents: ICAL.Component[], zone: ICAL.Timezone, floating: ICAL.Timezone = zone): MappedEvent {
  const ctx = { zone, floating };
  const masters = vevents.filter((v) => !v.hasProperty('recurrence-id'));
  const overrides = vevents.filter((v) => v.hasProperty('recurrence-id'));
  if (masters.length > 1) throw refuse('more than one event with the same UID and no RECURRENCE-ID');
  const master = masters[0];
  if (!master) throw refuse('only changed occurrences (RECURRENCE-ID) without the series they belong to');
  const uid = text(master, 'uid');
  if (!uid) throw refuse('the event has no UID');
  for (const unsupported of ['rdate', 'exrule']) {
    if (master.hasProperty(unsupported)) throw refuse(`${unsupported.toUpperCase()} cannot be stored: this calendar repeats events by one RRULE (with EXDATEs and changed occurrences)`);
  }
  if (master.getAllProperties('rrule').length > 1) throw refuse('more than one RRULE: this calendar repeats an event by one rule');

  const { body, start, end } = fields(master, ctx);
  const recur = master.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  if (!recur) {
    if (overrides.length) throw refuse('changed occurrences (RECURRENCE-ID) of an event that does not repeat');
    return { uid, master: body, exceptions: [] };
  }
  const duration = start.isDate ? wallSeconds(start, end) : wallSeconds(inCalendar(start, ctx), inCalendar(end, ctx));
  const rule = recur.clone();
  rule.until = null;
  body.rrule = rule.toString();
  body.duration = duration;
  body.end_date = seriesEnd(master, recur, ctx, duration);

  const exceptions: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const exdates = master.getAllProperties('exdate').flatMap((p) => p.getValues() as ICAL.Time[]);
  const firstStart = start.isDate ? start : inCalendar(start, ctx);
  for (const exdate of exdates) {
    const originalTime = start.isDate ? asDate(exdate) : exdate.isDate ? onDay(exdate, firstStart) : inCalendar(exdate, ctx);
    const original = recordFromTime(originalTime);
    if (seen.has(original)) continue;
    seen.add(original);
    exceptions.push({ text: body.text, start_date: original, end_date: recordFromTime(addSeconds(originalTime, duration)), original_start: original, deleted: true });
  }
  for (const override of overrides) {
    const rid = override.getFirstProperty('recurrence-id')!;
    if (String(rid.getParameter('range') ?? '').toUpperCase() === 'THISANDFUTURE') {
      throw refuse('RANGE=THISANDFUTURE cannot be stored: send the changed series as its own rule');
    }
    const original = wall(rid.getFirstValue() as ICAL.Time, ctx);
    if (seen.has(original)) continue;
    seen.add(original);
    const own = fields(override, ctx).body;
    const cancelled = String(text(override, 'status') ?? '').toUpperCase() === 'CANCELLED';
    exceptions.push({ ...own, original_start: original, ...(cancelled && { deleted: true }) });
  }
  return { uid, master: body, exceptions };
}

/** A timed series' occurrence on a date (some clients write EXDATE;VALUE=DATE for it): that day at the series' time. */
function onDay(date: ICAL.Time, start: ICAL.Time): ICAL.Time {
  const time = start.clone();
  Object.assign(time, { year: date.year, month: date.month, day: date.day });
  return time;
}

/**
 * Where a series ends, as the Scheduler's end_date: UNTIL in the calendar's zone, the end of the
 * last counted occurrence, or the Scheduler's "no end".
 */
function seriesEnd(master: ICAL.Component, recur: ICAL.Recur, ctx: Context, duration: number): string {
  if (recur.until) {
    const until = recur.until;
    if (until.isDate && !(master.getFirstPropertyValue('dtstart') as ICAL.Time).isDate) {
      // A timed series ending on a date (not what RFC 5545 allows, but written): through that whole day.
      return `${recordFromTime(until).slice(0, 10)} 23:59:59`;
    }
    return wall(until, ctx);
  }
  if (!recur.count) return NO_END;
  if (recur.count > limits.rruleMaxCount) return NO_END; // validation refuses the rule with its own words
  const iterator = new ICAL.Event(master).iterator();
  let last: ICAL.Time | null = null;
  for (let next = iterator.next(); next; next = iterator.next()) last = next;
  const lastStart = last ?? (master.getFirstPropertyValue('dtstart') as ICAL.Time);
  if (lastStart.isDate) return recordFromTime(addSeconds(lastStart, duration));
  return recordFromTime(addSeconds(inCalendar(lastStart, ctx), duration));
}
