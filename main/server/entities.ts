import type { Change } from '../store/types.js';
import { HttpError } from './httpError.js';
import { dateKey, type RecordSpec } from './validate.js';

/** An entity the server stores: its REST shape and the noun its live messages use. */
export interface EntityDef {
  /** The live channel and the store collection, e.g. "events". */
  name: string;
  /** "event" gives add-event, update-event, delete-event. */
  noun: string;
  /** The key that carries the record in a live message: `{type, event}` or, for custom entities, `{type, value}`. */
  messageKey: string;
  spec: RecordSpec;
}

export const events: EntityDef = {
  name: 'events',
  noun: 'event',
  messageKey: 'event',
  spec: {
    required: ['text', 'start_date', 'end_date'],
    check(record) {
      if (dateKey(record.end_date as string) < dateKey(record.start_date as string)) {
        throw new HttpError(400, 'end_date must not be before start_date');
      }
    },
    known: {
      text: 'text',
      details: 'text',
      location: 'text',
      start_date: 'date',
      end_date: 'date',
      original_start: 'date',
      rrule: 'rrule',
      duration: 'number',
      recurring_event_id: 'ref',
      deleted: 'boolean',
      calendar_id: 'ref',
      color: 'color',
      textColor: 'color',
      // CalDAV: the iCalendar UID and the resource name a client chose (both round-trip), and the
      // VALARM components it wrote, as iCalendar text, kept unchanged for the clients that read them.
      ical_uid: 'text',
      dav_name: 'text',
      alarms: 'text',
    },
  },
};

export const tasks: EntityDef = {
  name: 'tasks',
  noun: 'task',
  messageKey: 'task',
  spec: {
    required: ['text', 'start_date'],
    known: {
      text: 'text',
      start_date: 'date',
      end_date: 'date',
      duration: 'number',
      progress: 'number',
      parent: 'ref',
      type: 'text',
      open: 'boolean',
      sortorder: 'number',
      color: 'color',
    },
  },
};

export const links: EntityDef = {
  name: 'links',
  noun: 'link',
  messageKey: 'link',
  spec: {
    required: ['source', 'target', 'type'],
    known: { source: 'ref', target: 'ref', type: 'text', lag: 'number' },
  },
};

/** Named, coloured calendars (or rooms) that events belong to through `calendar_id`. */
export const calendars: EntityDef = {
  name: 'calendars',
  noun: 'calendar',
  messageKey: 'value',
  spec: {
    required: ['name', 'color'],
    // reminder_minutes: a reminder for everyone who shows the calendar (desks and pages read it; see main/desktop/reminderPlan.ts).
    known: { name: 'text', color: 'color', description: 'text', reminder_minutes: 'number' },
  },
};

/**
 * Calendar-wide settings, one record (id "calendar"): the calendar's IANA time zone, through which
 * CalDAV and the feed convert the Scheduler's wall-clock dates, and the feed address generation.
 */
export const settings: EntityDef = {
  name: 'settings',
  noun: 'settings',
  messageKey: 'value',
  spec: {
    required: [],
    known: { time_zone: 'text', feed_generation: 'number' },
  },
};

export const storedEntities = [events, tasks, links, calendars, settings] as const;
const byName = new Map(storedEntities.map((def) => [def.name, def]));

/** The live message for a stored change, exactly as the shipped clients read it. */
export function liveValue(change: Change): Record<string, unknown> {
  const def = byName.get(change.entity);
  const noun = def?.noun ?? change.entity;
  const key = def?.messageKey ?? 'value';
  // A delete names only the id: a page that never loaded the record must not add it back.
  const record = change.op === 'delete' ? { id: change.record.id } : change.record;
  return { type: `${change.op}-${noun}`, [key]: record, rev: change.rev };
}
