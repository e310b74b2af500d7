import ICAL from 'ical.js';
import { unescapeHtml } from '../server/validate.js';
import type { StoredRecord } from '../store/types.js';
import { addSeconds, asDate, isMidnight, seriesUntil, timeFromRecord } from './wallClock.js';
import { icalZone, vtimezone } from './zones.js';

/** One CalDAV resource: a single event, or a series with its exceptions (one UID). */
export interface Resource {
  master: StoredRecord;
  exceptions: StoredRecord[];
}

export interface CalendarTextOptions {
  /** The calendar's canonical IANA zone: the records' wall-clock dates are in it. */
  zone: string;
  /** VALARMs are for the calendar apps of people who sync; a subscribed feed leaves them out. */
  alarms: boolean;
  /** Calendar-level properties (a feed's name and refresh interval). */
  decorate?: (vcalendar: ICAL.Component) => void;
}

export const PRODID = '-//LAN Scheduler//CalDAV and feed//EN';
const DAY = 86_400;

/** A stored text field as the person typed it (unescaped); '' for anything that is not text. */
export const plain = (value: unknown) => (typeof value === 'string' ? unescapeHtml(value) : '');
export const isSeries = (r: StoredRecord) => typeof r.rrule === 'string' && r.rrule !== '' && !r.recurring_event_id;

/** The UID a resource has: the one a client gave it, or the record's id for events made in the page. */
export const uidOf = (master: StoredRecord) => plain(master.ical_uid) || master.id;

/** Whether a record is an all-day event: midnight to midnight, as the Scheduler draws a whole day. */
function isAllDay(record: StoredRecord, series: boolean): boolean {
  if (!isMidnight(record.start_date)) return false;
  if (series) {
    const duration = Number(record.duration);
    return duration > 0 && duration % DAY === 0;
  }
  return isMidnight(record.end_date) && String(record.end_date) > String(record.start_date);
}

/** A VCALENDAR holding the resources, as text. */
export function calendarText(resources: Resource[], options: CalendarTextOptions): string {
  return calendarComponent(resources, options).toString() + '\r\n';
}

/** A VCALENDAR holding the resources, each TZID it uses with its VTIMEZONE. */
export function calendarComponent(resources: Resource[], options: CalendarTextOptions): ICAL.Component {
  const vcalendar = new ICAL.Component('vcalendar');
  vcalendar.addPropertyWithValue('version', '2.0');
  vcalendar.addPropertyWithValue('prodid', PRODID);
  vcalendar.addPropertyWithValue('calscale', 'GREGORIAN');
  options.decorate?.(vcalendar);
  const zone = icalZone(options.zone);
  const stamp = ICAL.Time.now().convertToZone(ICAL.Timezone.utcTimezone);
  const vevents = resources.flatMap((resource) => eventComponents(resource, zone, options.alarms, stamp));
  // Clients read the zone before the events that use it.
  if (vevents.some((v) => v.getAllProperties().some((p) => p.getParameter('tzid')))) vcalendar.addSubcomponent(vtimezone(options.zone));
  for (const vevent of vevents) vcalendar.addSubcomponent(vevent);
  return vcalendar;
}

function addTime(component: ICAL.Component, name: string, time: ICAL.Time): ICAL.Property {
  const prop = component.addPropertyWithValue(name, time);
  const zone = time.zone;
  if (!time.isDate && zone && zone !== ICAL.Timezone.utcTimezone && zone !== ICAL.Timezone.localTimezone) {
    prop.setParameter('tzid', zone.tzid);
  }
  return prop;
}

function addText(component: ICAL.Component, name: string, value: unknown) {
  const text = plain(value);
  if (text !== '' || name === 'summary') component.addPropertyWithValue(name, text);
}

function addAlarms(component: ICAL.Component, stored: unknown) {
  const text = plain(stored).trim();
  if (!text) return;
  let parsed: unknown;
  try {
    parsed = ICAL.parse(text);
  } catch {
    return; // Written by this server from a client's VALARM: unreadable means damaged, and the event still matters.
  }
  const list = (Array.isArray(parsed) && typeof parsed[0] !== 'string' ? parsed : [parsed]) as any[];
  for (const jcal of list) {
    const alarm = new ICAL.Component(jcal);
    if (alarm.name === 'valarm') component.addSubcomponent(alarm);
  }
}

/** The master VEVENT and one VEVENT per modified occurrence; deleted occurrences become EXDATEs. */
export function eventComponents(resource: Resource, zone: ICAL.Timezone, alarms: boolean, stamp = ICAL.Time.now()): ICAL.Component[] {
  const { master } = resource;
  const series = isSeries(master);
  const allDay = isAllDay(master, series);
  const uid = uidOf(master);
  const when = (value: unknown) => (allDay ? asDate(timeFromRecord(value, zone)) : timeFromRecord(value, zone));

  const vevent = new ICAL.Component('vevent');
  vevent.addPropertyWithValue('uid', uid);
  vevent.addPropertyWithValue('dtstamp', stamp);
  const start = when(master.start_date);
  addTime(vevent, 'dtstart', start);
  if (series) {
    const duration = Math.max(0, Number(master.duration) || 0);
    addTime(vevent, 'dtend', addSeconds(start, duration));
    vevent.addPropertyWithValue('rrule', ruleOf(master, zone, allDay));
  } else {
    addTime(vevent, 'dtend', when(master.end_date));
  }
  addFields(vevent, master, alarms);
  if (!series) return [vevent];

  const out = [vevent];
  for (const exception of [...resource.exceptions].sort((a, b) => String(a.original_start).localeCompare(String(b.original_start)))) {
    if (!exception.original_start) continue;
    const original = when(exception.original_start);
    if (exception.deleted) {
      addTime(vevent, 'exdate', original);
      continue;
    }
    const override = new ICAL.Component('vevent');
    override.addPropertyWithValue('uid', uid);
    override.addPropertyWithValue('dtstamp', stamp);
    addTime(override, 'recurrence-id', original);
    const ownAllDay = isAllDay(exception, false);
    const own = (value: unknown) => (ownAllDay ? asDate(timeFromRecord(value, zone)) : timeFromRecord(value, zone));
    addTime(override, 'dtstart', own(exception.start_date));
    addTime(override, 'dtend', own(exception.end_date));
    addFields(override, exception, alarms);
    out.push(override);
  }
  return out;
}

function addFields(component: ICAL.Component, record: StoredRecord, alarms: boolean) {
  addText(component, 'summary', record.text);
  addText(component, 'description', record.details);
  addText(component, 'location', record.location);
  if (alarms) addAlarms(component, record.alarms);
}

/** The series' RRULE, ending where the Scheduler ends the series (seriesUntil). */
function ruleOf(master: StoredRecord, zone: ICAL.Timezone, allDay: boolean): ICAL.Recur {
  const recur = ICAL.Recur.fromString(String(master.rrule));
  recur.until = null;
  const end = seriesUntil(recur, master.end_date);
  if (end) {
    const until = timeFromRecord(end, zone);
    recur.until = allDay ? asDate(until) : until.convertToZone(ICAL.Timezone.utcTimezone);
  }
  return recur;
}
