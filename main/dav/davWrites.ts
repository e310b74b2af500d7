import type ICAL from 'ical.js';
import { HttpError } from '../server/httpError.js';
import type { Change, Store } from '../store/types.js';
import { DavError } from './davError.js';
import type { DavView } from './davProps.js';
import { mapEvent, parseCalendars, resolveZones, unknownZone } from './fromIcal.js';
import { removeRequests, writeRequests, type Collection, type NamedResource } from './resources.js';
import { uidOf } from './toIcal.js';
import { icalZone } from './zones.js';

/** RFC 7232 conditions on the resource as it is now; a failure is a 412 that changes nothing. */
export function checkConditions(headers: { ifMatch?: string; ifNoneMatch?: string }, current: string | undefined) {
  const list = (value: string) => value.split(',').map((t) => t.trim()).filter(Boolean);
  if (headers.ifMatch !== undefined) {
    const tags = list(headers.ifMatch);
    // If-Match compares strongly: a weak tag never matches.
    const ok = current !== undefined && (tags.includes('*') || tags.includes(current));
    if (!ok) throw new DavError(412, null, current === undefined ? 'If-Match: there is no such resource' : 'If-Match: the resource has changed since (its ETag differs)');
  }
  if (headers.ifNoneMatch !== undefined && current !== undefined) {
    const tags = list(headers.ifNoneMatch).map((t) => t.replace(/^W\//, ''));
    if (tags.includes('*') || tags.includes(current)) throw new DavError(412, null, 'If-None-Match: the resource exists');
  }
}

/** The VEVENTs of a PUT body: one VCALENDAR, events only, one UID. */
function eventsOfBody(text: string): ICAL.Component[] {
  const calendars = parseCalendars(text);
  if (calendars.length !== 1) throw new DavError(400, 'valid-calendar-data', 'a calendar resource is exactly one VCALENDAR');
  const [vcalendar] = calendars as [ICAL.Component];
  const others = vcalendar.getAllSubcomponents().filter((c) => c.name !== 'vevent' && c.name !== 'vtimezone');
  if (others.length) {
    throw new DavError(403, 'supported-calendar-component', `this calendar holds events (VEVENT) only, not ${others[0]!.name.toUpperCase()}`);
  }
  const vevents = vcalendar.getAllSubcomponents('vevent');
  if (!vevents.length) throw new DavError(403, 'valid-calendar-object-resource', 'the resource holds no VEVENT');
  const uids = new Set(vevents.map((v) => String(v.getFirstPropertyValue('uid') ?? '')));
  if (uids.size !== 1) throw new DavError(403, 'valid-calendar-object-resource', 'all events of one resource must share one UID');
  const [unknown] = resolveZones(vcalendar);
  if (unknown) throw unknownZone(unknown);
  return vevents;
}

/**
 * Stores a client's PUT: the series and its exceptions, written through the store in one commit with
 * this module's mapping (not REST's series rule), then announced like any REST write.
 */
export async function putResource(
  view: DavView,
  target: { collection: Collection; name: string; existing: NamedResource | undefined },
  text: string,
  onChanges: (changes: Change[]) => void,
): Promise<'created' | 'updated'> {
  const vevents = eventsOfBody(text);
  const uid = String(vevents[0]!.getFirstPropertyValue('uid'));
  const { collection, name, existing } = target;
  for (const other of view.resources(collection.id).values()) {
    if (other.name !== name && uidOf(other.master) === uid) {
      throw new DavError(403, 'no-uid-conflict', `another resource of this calendar (${other.name}) already has the UID ${uid}`);
    }
  }
  const mapped = mapEvent(vevents, icalZone(view.zone));
  let requests;
  try {
    ({ requests } = writeRequests(existing, mapped, { calendarId: collection.calendarId, name }));
  } catch (err) {
    if (err instanceof HttpError && !(err instanceof DavError)) throw new DavError(403, 'valid-calendar-object-resource', `this event cannot be stored: ${err.message}`);
    throw err;
  }
  onChanges(await view.store.commit(requests));
  return existing ? 'updated' : 'created';
}

export async function deleteResource(store: Store, resource: NamedResource, onChanges: (changes: Change[]) => void) {
  onChanges(await store.commit(removeRequests(resource)));
}
