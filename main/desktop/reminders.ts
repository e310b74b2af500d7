import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calendarZone } from '../dav/calendarSettings.js';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../store/durableFile.js';
import type { Store } from '../store/types.js';
import { isChoice, type Choice } from './ipc.js';
import { planReminders, type Reminder } from './reminderPlan.js';

/** Reminders missed while the app was off are shown on start if they came due at most this long ago. */
export const LOOKBACK_MS = 2 * 86_400_000;
/** A fired reminder is remembered until a day after its event ended. */
const KEEP_FIRED_MS = 86_400_000;
const FILE = 'reminders.json';

/** The calendar this desk is in now: its folder (this desk's own files for it) and its store. */
export interface ReminderCalendar {
  calendarId: string;
  dir: string;
  store: Pick<Store, 'revision' | 'list' | 'get'>;
}

export interface DeskRemindersOptions {
  /** The calendar now, or null in the lobby (asked on every look). */
  current(): ReminderCalendar | null;
  /** Shows one reminder; called once per occurrence, never again after a restart. */
  notify(reminder: Reminder): void;
  log: Logger;
  now?: () => number;
  /** How often to look whether the store changed (a revision number: cheap). */
  checkMs?: number;
}

/** What this desk keeps about reminders, per calendar: never in the shared store. */
interface Kept {
  choices: Record<string, Choice>;
  /** Calendars the person hides in the window: their defaults do not remind. */
  hidden: string[];
  /** Keys of reminders shown, with the end of their event (when they can be forgotten). */
  fired: Record<string, number>;
}

const empty = (): Kept => ({ choices: {}, hidden: [], fired: {} });

async function load(dir: string, log: Logger): Promise<Kept> {
  try {
    const raw = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as Partial<Kept>;
    const kept = empty();
    for (const [id, choice] of Object.entries(raw.choices ?? {})) if (isChoice(choice)) kept.choices[id] = choice;
    if (Array.isArray(raw.hidden)) kept.hidden = raw.hidden.filter((id): id is string => typeof id === 'string');
    for (const [key, end] of Object.entries(raw.fired ?? {})) if (Number.isFinite(end)) kept.fired[key] = end;
    return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`reminders: ${FILE} unreadable, starting afresh: ${(err as Error).message}`);
    return empty();
  }
}

/**
 * Which due reminders are new (not shown yet), and what is remembered as shown once they are: the
 * shown ones whose event ended more than a day ago forgotten, the new ones added with their event's
 * end. `changed` says whether that differs from `fired`.
 */
function newlyDue(fired: Readonly<Record<string, number>>, due: readonly Reminder[], now: number) {
  const kept: Record<string, number> = {};
  let changed = false;
  for (const [key, end] of Object.entries(fired)) {
    if (end >= now - KEEP_FIRED_MS) kept[key] = end;
    else changed = true;
  }
  const fresh: Reminder[] = [];
  for (const reminder of due) {
    if (kept[reminder.key] !== undefined) continue;
    kept[reminder.key] = reminder.endAt;
    fresh.push(reminder);
    changed = true;
  }
  return { fresh, fired: kept, changed };
}

/**
 * This desk's reminders: its person's "Remind me" choices and which calendars they hide, kept in
 * the calendar's own folder on this desk; a look at the store every few seconds (and exactly when
 * the next reminder is due) calls `notify` once per occurrence, and once on start for one that came
 * due while the app was off, if its event has not ended.
 */
export function startDeskReminders(options: DeskRemindersOptions) {
  const { log } = options;
  const now = options.now ?? Date.now;
  const checkMs = options.checkMs ?? 2000;
  let open: { calendarId: string; dir: string; kept: Kept } | null = null;
  let seen = -1;
  let nextAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let saving: Promise<void> = Promise.resolve();
  let looking: Promise<void> = Promise.resolve();

  const save = () => {
    if (!open) return saving;
    const { dir, kept } = open;
    saving = saving
      .then(async () => {
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, FILE), `${JSON.stringify(kept)}\n`);
      })
      .catch((err) => log.error(`reminders: saving ${FILE}: ${(err as Error).message}`));
    return saving;
  };

  /** The kept file of the calendar the desk is in now (another after a leave and join). */
  const follow = async (calendar: ReminderCalendar | null) => {
    if (open?.calendarId === calendar?.calendarId) return;
    open = calendar && { calendarId: calendar.calendarId, dir: calendar.dir, kept: await load(calendar.dir, log) };
    seen = -1;
  };

  const fire = (calendar: ReminderCalendar, kept: Kept, force: boolean) => {
    const revision = calendar.store.revision();
    const t = now();
    if (!force && revision === seen && t < nextAt) return;
    seen = revision;
    const { store } = calendar;
    const plan = planReminders(
      { events: store.list('events'), calendars: store.list('calendars'), zone: calendarZone(store), choices: kept.choices, hidden: new Set(kept.hidden) },
      { now: t, lookbackMs: LOOKBACK_MS, horizonMs: 10 * 60_000 },
    );
    nextAt = plan.next ?? Infinity;
    const { fresh, fired, changed } = newlyDue(kept.fired, plan.due, t);
    kept.fired = fired;
    for (const reminder of fresh) {
      try {
        options.notify(reminder);
      } catch (err) {
        log.error(`reminders: showing "${reminder.text}": ${(err as Error).message}`);
      }
    }
    if (changed) void save();
  };

  const look = (force = false) => {
    looking = looking.then(async () => {
      if (closed) return;
      const calendar = options.current();
      await follow(calendar);
      if (calendar && open) fire(calendar, open.kept, force);
    }).catch((err) => log.error(`reminders: ${(err as Error).stack ?? err}`));
    return looking;
  };

  const schedule = () => {
    if (closed) return;
    const wait = Math.max(0, Math.min(checkMs, nextAt - now()));
    timer = setTimeout(() => void look().then(schedule), wait);
  };
  void look(true).then(schedule);

  /** The kept state of the calendar now, for a change by the person (null in the lobby). */
  const current = async () => {
    await look();
    if (!open) throw new Error('This desk has no calendar yet.');
    return open.kept;
  };

  return {
    /** This person's choices in the calendar now, by event id. */
    async choices(): Promise<Record<string, Choice>> {
      await look();
      return open ? { ...open.kept.choices } : {};
    },
    /** Sets (or, with null, clears: the calendar's default applies again) the choice for an event or a series. */
    async setChoice(eventId: string, choice: Choice | null) {
      const kept = await current();
      if (choice === null) delete kept.choices[eventId];
      else kept.choices[eventId] = choice;
      await save();
      await look(true);
    },
    /** The calendars the person hides in the window: their defaults stop reminding. */
    async setHidden(ids: string[]) {
      const kept = await current();
      kept.hidden = [...new Set(ids)].sort();
      await save();
      await look(true);
    },
    /** Looks now (after a change the desk knows of), instead of at the next check. */
    refresh: () => look(true),
    async close() {
      closed = true;
      clearTimeout(timer);
      await looking;
      await saving;
    },
  };
}

export type DeskReminders = ReturnType<typeof startDeskReminders>;
