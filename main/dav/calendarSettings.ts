import type { Change, Store } from '../store/types.js';
import { settings } from '../server/entities.js';
import { HttpError } from '../server/httpError.js';
import { validateRecord } from '../server/validate.js';
import { canonicalZone, localZone } from './zones.js';

/** The one settings record: a fixed id, so desks that each wrote one merge into one by its stamp. */
export const SETTINGS_ID = 'calendar';

export type OnChanges = (changes: Change[]) => void;

export interface CalendarSettings {
  /** The stored IANA zone, or null if none was stored yet (readers then use the local zone). */
  timeZone: string | null;
  /** Bumped to revoke every feed URL handed out so far. */
  feedGeneration: number;
}

export function readSettings(store: Pick<Store, 'get'>): CalendarSettings {
  const record = store.get(settings.name, SETTINGS_ID);
  const zone = canonicalZone(record?.time_zone);
  const generation = Number(record?.feed_generation ?? 0);
  return { timeZone: zone, feedGeneration: Number.isSafeInteger(generation) && generation >= 0 ? generation : 0 };
}

/** The zone every conversion goes through: the calendar's, or this desk's until one is stored. */
export function calendarZone(store: Pick<Store, 'get'>): string {
  return readSettings(store).timeZone ?? localZone();
}

async function write(store: Store, fields: Record<string, unknown>, onChanges?: OnChanges) {
  const before = store.get(settings.name, SETTINGS_ID);
  // Zone names hold no character the store escapes, and the generation is a number: both re-validate as stored.
  const kept = before ? { time_zone: before.time_zone, feed_generation: before.feed_generation } : {};
  const record = { ...validateRecord(settings.spec, { ...kept, ...fields }), id: SETTINGS_ID };
  const changes = await store.commit([{ entity: settings.name, op: before ? 'update' : 'add', record }]);
  onChanges?.(changes);
}

/**
 * Gives the calendar its time zone if it has none yet (default: this desk's zone), and answers the
 * zone it has. Call it where a calendar is created or a desk starts hosting; it never overwrites.
 */
export async function ensureCalendarZone(store: Store, options: { zone?: string; onChanges?: OnChanges } = {}): Promise<string> {
  const held = readSettings(store).timeZone;
  if (held) return held;
  const zone = canonicalZone(options.zone) ?? localZone();
  await write(store, { time_zone: zone }, options.onChanges);
  return zone;
}

/** Changes the calendar's zone (a name from the zone list); answers the canonical name stored. */
export async function setCalendarZone(store: Store, name: unknown, onChanges?: OnChanges): Promise<string> {
  const zone = canonicalZone(name);
  if (!zone) throw new HttpError(400, 'timeZone must be an IANA time zone name such as Europe/Berlin');
  await write(store, { time_zone: zone }, onChanges);
  return zone;
}

/** A new feed address for every feed: the URLs handed out so far stop working. */
export async function rotateFeedAddress(store: Store, onChanges?: OnChanges): Promise<number> {
  const next = readSettings(store).feedGeneration + 1;
  await write(store, { feed_generation: next, time_zone: calendarZone(store) }, onChanges);
  return next;
}
