import ICAL from 'ical.js';
import { HttpError } from './httpError.js';

/** What a field holds; each kind has one check and one normal form. */
export type FieldKind = 'text' | 'date' | 'id' | 'ref' | 'number' | 'boolean' | 'color' | 'rrule';

export interface RecordSpec {
  /** Fields that must be present and not empty. */
  required: readonly string[];
  known: Readonly<Record<string, FieldKind>>;
  /** Checks that span fields, run on the normalized record; throws HttpError(400). */
  check?: (record: Record<string, unknown>) => void;
}

export const limits = {
  bodyBytes: 64 * 1024,
  textChars: 10_000,
  extraFields: 32,
  extraKeyChars: 64,
  extraStringChars: 2_000,
  /** Years a date may name: the Scheduler's "no end" is 9999-02-01; nothing real is older than 1900. */
  firstYear: 1900,
  lastYear: 9999,
  /** A repeat no finer than hourly, and at most this many steps between occurrences. */
  rruleMaxInterval: 1000,
  rruleMaxCount: 10_000,
};

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|(rgb|hsl)a?\(\s*[0-9.%\s,/]+\))$/;
const RRULE = /^[A-Z0-9=;,:+\-]{0,500}$/;
const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?$/;
const ZONED_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

const bad = (message: string) => new HttpError(400, message);

const RRULE_FREQS = new Set(['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
const RRULE_PARTS = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'BYWEEKNO', 'BYYEARDAY', 'BYHOUR']);

/**
 * Checks the Scheduler's `rrule` (an RRULE without DTSTART) with ical.js, and bounds it: every
 * page expands series itself, so a rule of one occurrence a second would freeze every window.
 */
export function checkRrule(value: string): string {
  if (value === '') return value;
  if (!RRULE.test(value)) throw bad('rrule must be an RRULE such as FREQ=WEEKLY;BYDAY=MO');
  const parts = value.split(';').map((part) => part.split('='));
  const names = parts.map(([name]) => name!);
  // ical.js reads INTERVAL=0 as 1, but the pages' rrule.js would loop on it: refuse it as written.
  const interval = parts.find(([name]) => name === 'INTERVAL')?.[1];
  if (interval !== undefined && !/^[1-9][0-9]*$/.test(interval)) throw bad(`rrule INTERVAL must be 1 to ${limits.rruleMaxInterval}`);
  const unknown = names.find((n) => !RRULE_PARTS.has(n));
  if (unknown !== undefined) throw bad(`rrule: ${JSON.stringify(unknown.slice(0, 20))} is not a rule part this calendar repeats by`);
  let recur: ICAL.Recur;
  try {
    recur = ICAL.Recur.fromString(value);
  } catch {
    throw bad('rrule does not parse as an RRULE');
  }
  if (!recur.freq || !RRULE_FREQS.has(recur.freq)) throw bad('rrule must repeat hourly, daily, weekly, monthly or yearly');
  if (!Number.isInteger(recur.interval) || recur.interval < 1 || recur.interval > limits.rruleMaxInterval) {
    throw bad(`rrule INTERVAL must be 1 to ${limits.rruleMaxInterval}`);
  }
  if (recur.count !== null && recur.count !== undefined && (recur.count < 1 || recur.count > limits.rruleMaxCount)) {
    throw bad(`rrule COUNT must be 1 to ${limits.rruleMaxCount}`);
  }
  return value;
}

/** Escapes text so that every template that renders it as HTML shows it as text. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A comparable number for a date string the clients send: wall-clock dates
 * ("2026-03-02 10:00", the Scheduler's format) compare as given; zoned ISO dates by instant.
 * Returns NaN for anything that is not a real date.
 */
export function dateKey(value: string): number {
  const m = LOCAL_DATE.exec(value);
  if (m) {
    const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((p) => p ?? '0');
    // Date.UTC reads years 0-99 as 1900-1999: years out of range must be caught before it sees them.
    if (+y! < limits.firstYear) return NaN;
    const t = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s);
    const back = new Date(t);
    // Reject 2026-02-30 and 25:00, which Date.UTC would quietly roll over.
    if (back.getUTCMonth() !== +mo! - 1 || back.getUTCDate() !== +d! || +h > 23 || +mi > 59 || +s > 59) return NaN;
    return inYears(t);
  }
  return ZONED_DATE.test(value) ? inYears(Date.parse(value)) : NaN;
}

const FIRST = Date.UTC(limits.firstYear, 0, 1);
const AFTER_LAST = Date.UTC(limits.lastYear + 1, 0, 1);
const inYears = (t: number) => (t >= FIRST && t < AFTER_LAST ? t : NaN);

export function checkId(value: unknown, what = 'id'): string {
  if (typeof value !== 'string' || !ID.test(value)) throw bad(`${what} must be 1 to 128 letters, digits or _.:-`);
  return value;
}

/** Limits count what is stored, after escaping: `<` takes five characters there, not one. */
function boundedText(key: string, escaped: string, max: number): string {
  if (escaped.length > max) throw bad(`${key} is longer than ${max} characters (as stored, with <>&"' spelled out)`);
  return escaped;
}

function normalField(key: string, kind: FieldKind, value: unknown): unknown {
  // The Scheduler's editor sends every mapped field, with null (or "") for the ones it leaves empty.
  if (value === null || (value === '' && kind !== 'text')) return kind === 'boolean' ? false : kind === 'rrule' || kind === 'color' ? '' : null;
  switch (kind) {
    case 'text':
      if (typeof value !== 'string') throw bad(`${key} must be text`);
      return boundedText(key, escapeHtml(value), limits.textChars);
    case 'date':
      if (typeof value !== 'string' || Number.isNaN(dateKey(value))) {
        throw bad(`${key} must be a date like 2026-03-02 10:00 or an ISO date, from ${limits.firstYear} to ${limits.lastYear}`);
      }
      return value;
    case 'id':
      return checkId(value, key);
    case 'ref':
      // Gantt sends numbers for root (0) and for ids it has not yet saved.
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      return checkId(String(value), key);
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`${key} must be a number`);
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 1 || value === '1') return true;
      if (value === 'false' || value === 0 || value === '0') return false;
      throw bad(`${key} must be true or false`);
    case 'color':
      if (typeof value !== 'string' || !COLOR.test(value)) throw bad(`${key} must be a CSS colour such as #3b82f6`);
      return value;
    case 'rrule':
      if (typeof value !== 'string') throw bad(`${key} must be an RRULE such as FREQ=WEEKLY;BYDAY=MO`);
      return checkRrule(value);
  }
}

/**
 * Checks a request body against a spec and returns a new, safe record without an id:
 * known fields in their normal form, text HTML-escaped, unknown fields kept if they are
 * flat and few. Throws an HttpError(400) that says what is wrong.
 */
export function validateRecord(spec: RecordSpec, body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object');
  const out: Record<string, unknown> = {};
  let extra = 0;
  for (const key of Object.keys(body)) {
    const value = (body as Record<string, unknown>)[key];
    if (FORBIDDEN_KEYS.has(key)) throw bad(`the field name ${key} is not allowed`);
    if (key === 'id' || /^[!_$]/.test(key)) continue; // client bookkeeping: !nativeeditor_status, _timed, $new
    const kind = spec.known[key];
    if (kind) {
      if (value === undefined) continue;
      out[key] = normalField(key, kind, value);
      continue;
    }
    if (++extra > limits.extraFields) throw bad(`more than ${limits.extraFields} extra fields`);
    if (key.length > limits.extraKeyChars || !KEY.test(key)) throw bad(`the field name ${JSON.stringify(key.slice(0, 80))} is not allowed`);
    if (typeof value === 'string') {
      out[key] = boundedText(key, escapeHtml(value), limits.extraStringChars);
    } else if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      out[key] = value;
    } else {
      throw bad(`${key} must be text, a number, true/false or null`);
    }
  }
  for (const key of spec.required) {
    const v = out[key];
    if (v === undefined || v === null || (v === '' && spec.known[key] !== 'text')) throw bad(`${key} is required`);
  }
  spec.check?.(out);
  return out;
}

const STORED_ENTITY = /&#(38|60|62|34|39);/g;
const RAW: Record<string, string> = { '38': '&', '60': '<', '62': '>', '34': '"', '39': "'" };

/** The person's real text from a stored (HTML-escaped) field: what CalDAV and the ICS feed carry. */
export function unescapeHtml(stored: string): string {
  return stored.replace(STORED_ENTITY, (_e, code: string) => RAW[code]!);
}

/**
 * Checks a record as another desk sends it: in the stored form (text escaped, known fields in
 * their normal form). It must be exactly what REST validation makes of the same content, so a
 * desk can send nothing a browser could not have written: no markup, no over-long text (counted
 * as stored), no odd types, no colour that is not a colour, no date outside the years allowed.
 */
export function validateStoredRecord(spec: RecordSpec, record: unknown): Record<string, unknown> & { id: string } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw bad('a record must be a JSON object');
  const { id, ...fields } = record as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    plain[key] = typeof value === 'string' ? unescapeHtml(value) : value;
  }
  const normal = validateRecord(spec, plain);
  const given = Object.keys(fields);
  if (given.length !== Object.keys(normal).length || given.some((key) => !Object.is(normal[key], fields[key]))) {
    throw bad('a record is not in the form this calendar stores');
  }
  return { ...normal, id: checkId(id) };
}
