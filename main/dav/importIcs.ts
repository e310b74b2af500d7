import { createHash } from 'node:crypto';
import ICAL from 'ical.js';
import { calendars, events } from '../server/entities.js';
import { HttpError } from '../server/httpError.js';
import type { Change, ChangeRequest, Store } from '../store/types.js';
import { calendarZone } from './calendarSettings.js';
import { mapEvent, parseCalendars, resolveZones, tzidsOf } from './fromIcal.js';
import { writeRequests } from './resources.js';
import { uidOf } from './toIcal.js';
import { canonicalZone, icalZone } from './zones.js';

export interface ImportedEvent {
  uid: string;
  title: string;
  /** The first start, in the calendar's wall clock. */
  start: string;
  repeats: boolean;
  /** Changed or cancelled occurrences of a series. */
  exceptions: number;
}

export interface SkippedEvent {
  uid: string | null;
  title: string;
  reason: string;
}

export interface ImportOutcome {
  imported: ImportedEvent[];
  skipped: SkippedEvent[];
  /** What happened, in words, for a person. */
  summary: string;
}

export interface ImportOptions {
  store: Store;
  /** The iCalendar file's text. */
  text: string;
  /** The calendar (an entry of `calendars`) the events go into; none for the default collection. */
  calendarId?: string | null;
  /** Announces what was written, like any REST write. */
  onChanges?: (changes: Change[]) => void;
}

/** Records per commit: a big file goes in as several durable steps rather than one huge one. */
const BATCH = 500;
const KINDS: Record<string, string> = { vtodo: 'a task (VTODO)', vjournal: 'a journal entry (VJOURNAL)', vfreebusy: 'free/busy data (VFREEBUSY)', vavailability: 'availability (VAVAILABILITY)' };

const titleOf = (c: ICAL.Component) => String(c.getFirstPropertyValue('summary') ?? '').trim() || '(no title)';

/**
 * Imports the events of an iCalendar file (Google, Outlook, Thunderbird exports) into a calendar.
 * It goes by UID: an event whose UID the calendar already holds is skipped, so importing the same
 * file twice adds nothing. Everything written passes REST's validation; what cannot be stored is
 * listed with the reason.
 */
export async function importIcs(options: ImportOptions): Promise<ImportOutcome> {
  const { store } = options;
  const calendarId = options.calendarId || null;
  if (calendarId && !store.get(calendars.name, calendarId)) throw new HttpError(404, `no calendar with id ${calendarId}`);
  const files = parseCalendars(options.text);
  const zone = icalZone(calendarZone(store));
  const held = new Set(store.list(events.name).filter((e) => !e.recurring_event_id).map((e) => uidOf(e)));
  const imported: ImportedEvent[] = [];
  const skipped: SkippedEvent[] = [];
  const requests: ChangeRequest[] = [];

  for (const vcalendar of files) {
    const unknown = resolveZones(vcalendar);
    // Google writes the calendar's zone here; times without a zone are meant in it.
    const fileZone = canonicalZone(vcalendar.getFirstPropertyValue('x-wr-timezone'));
    const floating = fileZone ? icalZone(fileZone) : zone;
    for (const other of vcalendar.getAllSubcomponents().filter((c) => c.name !== 'vevent' && c.name !== 'vtimezone')) {
      skipped.push({ uid: String(other.getFirstPropertyValue('uid') ?? '') || null, title: titleOf(other), reason: `${KINDS[other.name] ?? other.name.toUpperCase()}, not an event` });
    }
    for (const [uid, group] of groupsByUid(vcalendar.getAllSubcomponents('vevent'))) {
      const title = titleOf(group.find((v) => !v.hasProperty('recurrence-id')) ?? group[0]!);
      if (held.has(uid)) {
        skipped.push({ uid, title, reason: 'already in the calendar (same UID)' });
        continue;
      }
      const missing = group.flatMap(tzidsOf).find((tzid) => unknown.has(tzid));
      if (missing) {
        skipped.push({ uid, title, reason: `its time zone "${missing}" is not defined in the file` });
        continue;
      }
      try {
        const mapped = mapEvent(group, zone, floating);
        const written = writeRequests(undefined, mapped, { calendarId });
        requests.push(...written.requests);
        held.add(uid);
        imported.push({ uid, title, start: String(mapped.master.start_date), repeats: !!mapped.master.rrule, exceptions: mapped.exceptions.length });
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        skipped.push({ uid, title, reason: err.message });
      }
    }
  }
  for (let i = 0; i < requests.length; i += BATCH) {
    const changes = await store.commit(requests.slice(i, i + BATCH));
    options.onChanges?.(changes);
  }
  return { imported, skipped, summary: summarize(imported, skipped) };
}

/**
 * VEVENTs by UID: a series with its changed occurrences is one group. An event without a UID gets
 * one made from its text (so a second import still finds it); a changed occurrence whose series is
 * not in the file becomes an event of its own.
 */
function groupsByUid(vevents: ICAL.Component[]): Map<string, ICAL.Component[]> {
  const groups = new Map<string, ICAL.Component[]>();
  for (const vevent of vevents) {
    if (!vevent.getFirstPropertyValue('uid')) {
      // DTSTAMP is the time of the export: the same event exported again must get the same UID.
      const content = new ICAL.Component(structuredClone(vevent.toJSON()));
      content.removeAllProperties('dtstamp');
      vevent.updatePropertyWithValue('uid', `import-${createHash('sha256').update(content.toString()).digest('hex').slice(0, 32)}`);
    }
    const uid = String(vevent.getFirstPropertyValue('uid'));
    groups.set(uid, [...(groups.get(uid) ?? []), vevent]);
  }
  for (const [uid, group] of [...groups]) {
    if (group.some((v) => !v.hasProperty('recurrence-id'))) continue;
    groups.delete(uid);
    for (const orphan of group) {
      const rid = String(orphan.getFirstPropertyValue('recurrence-id'));
      orphan.removeAllProperties('recurrence-id');
      const own = `${uid}/${rid}`;
      orphan.updatePropertyWithValue('uid', own);
      groups.set(own, [orphan]);
    }
  }
  return groups;
}

const quote = (s: string) => `“${s.length > 60 ? `${s.slice(0, 57)}…` : s}”`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function summarize(imported: ImportedEvent[], skipped: SkippedEvent[]): string {
  const repeating = imported.filter((e) => e.repeats).length;
  const parts: string[] = [];
  if (imported.length === 0) parts.push('Nothing was imported.');
  else parts.push(`Imported ${plural(imported.length, 'event')}${repeating ? ` (${repeating} repeating)` : ''}.`);
  if (skipped.length) {
    const shown = skipped.slice(0, 10).map((s) => `${quote(s.title)}: ${s.reason}`);
    const more = skipped.length > 10 ? `; and ${skipped.length - 10} more` : '';
    parts.push(`Skipped ${skipped.length}: ${shown.join('; ')}${more}.`);
  }
  return parts.join(' ');
}
