import ICAL from 'ical.js';
import { tzlib_get_ical_block, tzlib_get_timezones } from 'timezones-ical-library';
import { findIana } from 'windows-iana';

// ical.js carries no zone data: every IANA zone comes from timezones-ical-library, and names that
// are not IANA (Outlook's "W. Europe Standard Time") are mapped by CLDR's table in windows-iana.
// What is cached here is derived from those libraries' constant data, never from a request.
let names: Set<string> | null = null;
const blocks = new Map<string, { tzid: string; text: string }>();
const zones = new Map<string, ICAL.Timezone>();

/** Every zone name the zone library knows (IANA names and their aliases), sorted. */
export function zoneNames(): string[] {
  return [...knownNames()].sort();
}

function knownNames(): Set<string> {
  names ??= new Set(tzlib_get_timezones() as string[]);
  return names;
}

function block(name: string): { tzid: string; text: string } | null {
  if (!knownNames().has(name)) return null;
  let found = blocks.get(name);
  if (!found) {
    const [text, tzidLine] = tzlib_get_ical_block(name) as string[];
    if (!text || !tzidLine) return null;
    found = { text, tzid: tzidLine.replace(/^TZID=/, '') };
    blocks.set(name, found);
  }
  return found;
}

/** The canonical IANA name (the TZID its VTIMEZONE carries: "UTC" is "Etc/UTC"), or null if unknown. */
export function canonicalZone(name: unknown): string | null {
  return typeof name === 'string' && name.length <= 100 ? (block(name)?.tzid ?? null) : null;
}

/**
 * The IANA zone a TZID means: an IANA name (or alias), a Windows zone name as Outlook writes it,
 * or a path that ends in an IANA name (old Mozilla TZIDs such as /mozilla.org/20050126_1/Europe/Berlin).
 */
export function ianaForTzid(tzid: string): string | null {
  const direct = canonicalZone(tzid);
  if (direct) return direct;
  const windows = findIana(tzid, '001')[0] ?? findIana(tzid)[0];
  if (windows) return canonicalZone(windows);
  const parts = tzid.split('/');
  for (let i = 1; i < parts.length - 1; i++) {
    const tail = canonicalZone(parts.slice(i).join('/'));
    if (tail) return tail;
  }
  return null;
}

/** A fresh VTIMEZONE component for a canonical IANA name (throws for an unknown one). */
export function vtimezone(zone: string): ICAL.Component {
  const found = block(zone);
  if (!found) throw new TypeError(`unknown time zone ${zone}`);
  return new ICAL.Component(ICAL.parse(found.text) as unknown as any[]);
}

/** An ical.js time zone for a canonical IANA name. */
export function icalZone(zone: string): ICAL.Timezone {
  if (zone === 'Etc/UTC') return ICAL.Timezone.utcTimezone;
  let found = zones.get(zone);
  if (!found) zones.set(zone, (found = new ICAL.Timezone({ component: vtimezone(zone), tzid: zone })));
  return found;
}

/** This machine's zone, canonical, or UTC when the runtime reports none the library knows. */
export function localZone(): string {
  return canonicalZone(Intl.DateTimeFormat().resolvedOptions().timeZone) ?? 'Etc/UTC';
}
