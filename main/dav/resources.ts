import { createHash } from 'node:crypto';
import { newRecordId } from '../store/ids.js';
import { calendars, events } from '../server/entities.js';
import { dateKey, unescapeHtml, validateRecord } from '../server/validate.js';
import type { ChangeRequest, Store, StoredRecord } from '../store/types.js';
import type { MappedEvent } from './fromIcal.js';
import { plain, type Resource } from './toIcal.js';

/** The collection of events that belong to no calendar (or to one that was deleted). */
export const DEFAULT_COLLECTION = 'default';

export interface Collection {
  /** The path segment: a calendar's id, or "default". */
  id: string;
  calendarId: string | null;
  name: string;
  color?: string;
  description?: string;
}

export interface NamedResource extends Resource {
  name: string;
}

/** The default collection first, then one per entry of the `calendars` entity. */
export function collectionsOf(store: Store): Collection[] {
  const own = store.list(calendars.name).map((c) => ({
    id: c.id,
    calendarId: c.id,
    name: plain(c.name) || 'Calendar',
    color: typeof c.color === 'string' ? c.color : undefined,
    description: plain(c.description) || undefined,
  }));
  return [{ id: DEFAULT_COLLECTION, calendarId: null, name: 'Office calendar (no calendar)' }, ...own];
}

/** The name a resource has in its collection: the one a client chose, or the record's id. */
export const resourceName = (master: StoredRecord) => plain(master.dav_name) || `${master.id}.ics`;

/** Which collection an event lives in: its calendar's, or the default one. */
export function collectionOfEvent(record: StoredRecord, calendarIds: ReadonlySet<string>): string {
  const id = typeof record.calendar_id === 'string' || typeof record.calendar_id === 'number' ? String(record.calendar_id) : '';
  return id && calendarIds.has(id) ? id : DEFAULT_COLLECTION;
}

/**
 * Every resource by collection id, then by name, from one read of the store (a series with its
 * exceptions). A collection with no events has no entry.
 */
export function resourcesByCollection(store: Store): Map<string, Map<string, NamedResource>> {
  const calendarIds = new Set(store.list(calendars.name).map((c) => c.id));
  const all = store.list(events.name);
  const exceptions = new Map<string, StoredRecord[]>();
  for (const e of all) {
    if (!e.recurring_event_id) continue;
    const key = String(e.recurring_event_id);
    let list = exceptions.get(key);
    if (!list) exceptions.set(key, (list = []));
    list.push(e);
  }
  const out = new Map<string, Map<string, NamedResource>>();
  for (const master of all) {
    if (master.recurring_event_id) continue;
    const collectionId = collectionOfEvent(master, calendarIds);
    let named = out.get(collectionId);
    if (!named) out.set(collectionId, (named = new Map()));
    const name = resourceName(master);
    if (!named.has(name)) named.set(name, { name, master, exceptions: exceptions.get(master.id) ?? [] });
  }
  return out;
}

/** A strong ETag: it changes whenever anything the resource's text is made from changes. */
export function etagOf(resource: Resource, zone: string): string {
  const exceptions = [...resource.exceptions].sort((a, b) => a.id.localeCompare(b.id));
  const hash = createHash('sha256').update(JSON.stringify([zone, resource.master, exceptions])).digest('base64url');
  return `"${hash.slice(0, 27)}"`;
}

// Fields the iCalendar text decides. Anything else a record has (a colour set in the page, a
// field of another app) is kept when a client rewrites the event.
const MAPPED = new Set(['text', 'details', 'location', 'start_date', 'end_date', 'rrule', 'duration', 'recurring_event_id', 'original_start', 'deleted', 'calendar_id', 'ical_uid', 'dav_name', 'alarms']);

function keptFields(before: StoredRecord | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(before ?? {})) {
    if (key === 'id' || MAPPED.has(key)) continue;
    out[key] = typeof value === 'string' ? unescapeHtml(value) : value;
  }
  return out;
}

/** Where a resource goes and what it is called there. */
export interface Target {
  calendarId: string | null;
  /** The name the client used; omitted, the resource is named after its record id. */
  name?: string;
}

/**
 * The store changes that make a resource what the client sent, in one commit: the series (or single
 * event) and its exceptions, matched to the ones held by original start so their ids stay. Unlike a
 * REST update of a series, nothing is dropped that the resource still holds. Every record passes
 * the same validation as REST; an HttpError(400) says what is wrong.
 */
export function writeRequests(existing: Resource | undefined, mapped: MappedEvent, target: Target): { requests: ChangeRequest[]; master: StoredRecord } {
  const masterBody = {
    ...keptFields(existing?.master),
    ...mapped.master,
    calendar_id: target.calendarId,
    ical_uid: mapped.uid,
    ...(target.name && { dav_name: target.name }),
  };
  const master: StoredRecord = { ...validateRecord(events.spec, masterBody), id: existing?.master.id ?? newRecordId() };
  const requests: ChangeRequest[] = [{ entity: events.name, op: existing ? 'update' : 'add', record: master }];

  const held = new Map((existing?.exceptions ?? []).map((e) => [dateKey(String(e.original_start)), e]));
  for (const body of mapped.exceptions) {
    const key = dateKey(String(body.original_start));
    const before = held.get(key);
    held.delete(key);
    const record: StoredRecord = {
      ...validateRecord(events.spec, { ...keptFields(before), ...body, recurring_event_id: master.id, calendar_id: target.calendarId }),
      id: before?.id ?? newRecordId(),
    };
    requests.push({ entity: events.name, op: before ? 'update' : 'add', record });
  }
  // Occurrences the resource no longer changes or removes: the series' own rule applies to them again.
  for (const gone of held.values()) requests.push({ entity: events.name, op: 'delete', record: gone });
  return { requests, master };
}

/** Deleting a resource deletes the series and every exception it has. */
export function removeRequests(resource: Resource): ChangeRequest[] {
  return [...resource.exceptions, resource.master].map((record) => ({ entity: events.name, op: 'delete' as const, record }));
}
