import ICAL from 'ical.js';
import type { Element } from '@xmldom/xmldom';
import { CALDAV_NS, DavError } from './davError.js';
import { children, is } from './davXml.js';
import { isFloating, MAX_SERIES_STEPS } from './wallClock.js';

/** A compiled calendar-query filter: does this resource (its VCALENDAR) match? */
export type Filter = (vcalendar: ICAL.Component) => boolean;

const unsupported = (what: string) => new DavError(403, 'supported-filter', `this server cannot filter by ${what}`);

interface Range {
  start: number;
  end: number;
}

const UTC_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function rangeOf(el: Element): Range {
  const read = (name: string, fallback: number) => {
    const value = el.getAttribute(name);
    if (!value) return fallback;
    const m = UTC_TIME.exec(value);
    if (!m) throw new DavError(400, 'valid-calendar-data', `time-range ${name} must be a UTC date-time such as 20260302T000000Z`);
    const [y, mo, d, h, mi, sec] = m.slice(1).map(Number);
    return Date.UTC(y!, mo! - 1, d!, h!, mi!, sec!) / 1000;
  };
  if (!el.getAttribute('start') && !el.getAttribute('end')) throw new DavError(400, 'valid-calendar-data', 'time-range needs start or end');
  return { start: read('start', -Infinity), end: read('end', Infinity) };
}

/** Seconds since the epoch; dates and floating times are read in the calendar's zone (RFC 4791 9.9). */
const instant = (time: ICAL.Time, zone: ICAL.Timezone) => {
  if (!time.isDate && !isFloating(time)) return time.toUnixTime();
  const copy = time.clone();
  copy.isDate = false;
  copy.zone = zone;
  return copy.toUnixTime();
};

function overlaps(start: number, end: number, range: Range): boolean {
  if (end > start) return start < range.end && end > range.start;
  return start >= range.start && start < range.end;
}

/** Whether any occurrence of the resource's events (the series expanded, its changed occurrences applied) meets the range. */
export function occursIn(vevents: ICAL.Component[], range: Range, zone: ICAL.Timezone): boolean {
  const master = vevents.find((v) => !v.hasProperty('recurrence-id'));
  const overrides = vevents.filter((v) => v.hasProperty('recurrence-id'));
  const spanOf = (e: ICAL.Event) => overlaps(instant(e.startDate, zone), instant(e.endDate, zone), range);
  if (overrides.some((o) => spanOf(new ICAL.Event(o)))) return true;
  if (!master) return false;
  const event = new ICAL.Event(master);
  for (const o of overrides) event.relateException(o);
  if (!event.isRecurring()) return spanOf(event);
  const iterator = event.iterator();
  let steps = 0;
  for (let next = iterator.next(); next; next = iterator.next()) {
    // Beyond the bound a series counts as overlapping: a superset is safe, a hang is not.
    if (++steps > MAX_SERIES_STEPS) return true;
    if (instant(next, zone) >= range.end) return false;
    const details = event.getOccurrenceDetails(next);
    if (overlaps(instant(details.startDate, zone), instant(details.endDate, zone), range)) return true;
  }
  return false;
}

function textMatch(el: Element, values: string[]): boolean {
  const collation = el.getAttribute('collation') || 'i;ascii-casemap';
  if (collation !== 'i;ascii-casemap' && collation !== 'i;octet') throw new DavError(403, 'supported-collation', `the collation ${collation} is not supported`);
  const fold = (s: string) => (collation === 'i;octet' ? s : s.toLowerCase());
  const wanted = fold(el.textContent ?? '');
  const found = values.some((v) => fold(v).includes(wanted));
  return el.getAttribute('negate-condition') === 'yes' ? !found : found;
}

function propFilter(el: Element, component: ICAL.Component, zone: ICAL.Timezone): boolean {
  const props = component.getAllProperties(String(el.getAttribute('name') ?? '').toLowerCase());
  const tests = children(el);
  if (tests.some((t) => is(t, CALDAV_NS, 'is-not-defined'))) return props.length === 0;
  if (props.length === 0) return false;
  return props.some((prop) =>
    tests.every((t) => {
      if (is(t, CALDAV_NS, 'text-match')) return textMatch(t, prop.getValues().map(String));
      if (is(t, CALDAV_NS, 'time-range')) {
        const value = prop.getFirstValue();
        if (!(value instanceof ICAL.Time)) return false;
        const at = instant(value, zone);
        return overlaps(at, at, rangeOf(t));
      }
      if (is(t, CALDAV_NS, 'param-filter')) {
        const param = prop.getParameter(String(t.getAttribute('name') ?? '').toLowerCase());
        const inner = children(t);
        if (inner.some((i) => is(i, CALDAV_NS, 'is-not-defined'))) return param === undefined || param === null;
        if (param === undefined || param === null) return false;
        const match = inner.find((i) => is(i, CALDAV_NS, 'text-match'));
        return match ? textMatch(match, ([] as unknown[]).concat(param).map(String)) : true;
      }
      return true;
    }),
  );
}

function compFilter(el: Element, parent: ICAL.Component, zone: ICAL.Timezone, isRoot: boolean): boolean {
  const name = String(el.getAttribute('name') ?? '').toLowerCase();
  const candidates = isRoot ? (parent.name === name ? [parent] : []) : parent.getAllSubcomponents(name);
  const tests = children(el);
  if (tests.some((t) => is(t, CALDAV_NS, 'is-not-defined'))) return candidates.length === 0;
  if (candidates.length === 0) return false;
  const timeRange = tests.find((t) => is(t, CALDAV_NS, 'time-range'));
  if (timeRange) {
    if (!occursIn(candidates, rangeOf(timeRange), zone)) return false;
  }
  return candidates.some((component) =>
    tests.every((t) => {
      if (is(t, CALDAV_NS, 'time-range')) return true;
      if (is(t, CALDAV_NS, 'prop-filter')) return propFilter(t, component, zone);
      return compFilter(t, component, zone, false);
    }),
  );
}

const ALLOWED: Record<string, readonly string[]> = {
  'comp-filter': ['is-not-defined', 'time-range', 'prop-filter', 'comp-filter'],
  'prop-filter': ['is-not-defined', 'time-range', 'text-match', 'param-filter'],
  'param-filter': ['is-not-defined', 'text-match'],
};

/** Refuses, before anything is read, a filter this server would not evaluate as asked. */
function checkFilter(el: Element): void {
  const allowed = ALLOWED[el.localName ?? ''] ?? [];
  for (const t of children(el)) {
    if (t.namespaceURI !== CALDAV_NS || !allowed.includes(t.localName ?? '')) throw unsupported(`<${t.localName}> in a ${el.localName}`);
    if (t.localName === 'time-range') {
      rangeOf(t);
      const on = String(el.getAttribute('name') ?? '').toUpperCase();
      if (el.localName === 'comp-filter' && on !== 'VEVENT') throw unsupported(`a time-range on ${on}`);
    }
    if (t.localName === 'text-match') textMatch(t, []);
    if (ALLOWED[t.localName ?? '']) checkFilter(t);
  }
}

/** Compiles a `<C:filter>`; an empty or missing filter matches everything. */
export function compileFilter(filter: Element | undefined, zone: ICAL.Timezone): Filter {
  const top = children(filter);
  if (top.length === 0) return () => true;
  if (top.length !== 1 || !is(top[0], CALDAV_NS, 'comp-filter')) throw unsupported('anything but one comp-filter at the top');
  const root = top[0]!;
  checkFilter(root);
  return (vcalendar) => compFilter(root, vcalendar, zone, true);
}
