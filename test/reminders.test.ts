import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../main/log.js';
import type { Reminder } from '../main/desktop/reminderPlan.js';
import { startDeskReminders, type DeskReminders } from '../main/desktop/reminders.js';
import { createLowStore } from '../main/store/lowStore.js';
import type { Store } from '../main/store/types.js';
import { within } from './helpers/hostProcess.js';

// The desk's reminders over a real store in a temp folder: once per occurrence, across a restart.

const ZONE = 'Europe/Berlin';
let dir: string;
let store: Store;
let engines: DeskReminders[] = [];
const lines: string[] = [];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(`error: ${m}`) };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-reminders-'));
  store = await createLowStore({ dir: join(dir, 'store'), log });
  await store.commit([{ entity: 'settings', op: 'add', record: { id: 'calendar', time_zone: ZONE } }]);
  lines.length = 0;
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The wall clock in the calendar's zone `ms` from now, as records hold it (with seconds). */
function wallIn(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(Date.now() + ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

const MIN = 60_000;
const addEvent = (id: string, startIn: number, extra: Record<string, unknown> = {}) =>
  store.commit([{ entity: 'events', op: 'add', record: { id, text: `Event ${id}`, start_date: wallIn(startIn), end_date: wallIn(startIn + 30 * MIN), ...extra } }]);

/** An engine on the store, with the notifications it shows and a way to wait for the next ones. */
function engine(options: { checkMs?: number } = {}) {
  const shown: Reminder[] = [];
  const waiters: (() => void)[] = [];
  const reminders = startDeskReminders({
    current: () => ({ calendarId: 'cal1', dir: join(dir, 'desk'), store }),
    notify(r) {
      shown.push(r);
      waiters.splice(0).forEach((w) => w());
    },
    log,
    checkMs: options.checkMs ?? 200,
  });
  engines.push(reminders);
  const until = async (count: number, what: string) => {
    while (shown.length < count) await within(new Promise<void>((resolve) => waiters.push(resolve)), 15_000, what);
  };
  return { reminders, shown, until, ids: () => shown.map((r) => r.eventId) };
}

describe('desk reminders', () => {
  it('shows each occurrence once, while the store changes around it, and not again after a restart', async () => {
    const first = engine();
    await addEvent('e1', 10 * MIN + 300);
    await addEvent('e2', 10 * MIN + 1500);
    await first.reminders.setChoice('e1', 10);
    await first.reminders.setChoice('e2', 10);
    await first.until(1, 'the first reminder');
    // Writes make the engine look again; e1 is not shown twice, and e2 comes when it is due.
    for (let i = 0; i < 5; i++) await addEvent(`other${i}`, 3 * 60 * MIN);
    await first.until(2, 'the second reminder');
    expect(first.ids()).toEqual(['e1', 'e2']);
    expect(first.shown[0]).toMatchObject({ text: 'Event e1', minutes: 10 });
    await first.reminders.close();

    // While the app is off, a colleague adds a meeting of a calendar with a default: its
    // reminder comes due. On start it is shown once; e1 and e2 (not ended yet) are not shown again.
    await store.commit([{ entity: 'calendars', op: 'add', record: { id: 'room', name: 'Room A', color: '#2563eb', reminder_minutes: 5 } }]);
    await addEvent('e3', 2 * MIN, { calendar_id: 'room' });
    const second = engine();
    await second.until(1, 'the reminder missed while off');
    expect(second.ids()).toEqual(['e3']);
    expect(await second.reminders.choices()).toEqual({ e1: 10, e2: 10 });
    expect(lines.filter((l) => /error|warning/.test(l))).toEqual([]);
  });

  it('lets a person silence a calendar’s default, per event or by hiding the calendar', async () => {
    await store.commit([{ entity: 'calendars', op: 'add', record: { id: 'room', name: 'Room A', color: '#2563eb', reminder_minutes: 5 } }]);
    const desk = engine();
    await desk.reminders.setChoice('quiet', 'none');
    await desk.reminders.setHidden(['room']);
    await addEvent('quiet', 2 * MIN, { calendar_id: 'room' });
    await addEvent('hidden', 2 * MIN + 100, { calendar_id: 'room' });
    await addEvent('mine', 2 * MIN + 200, { calendar_id: 'room' });
    await desk.reminders.setChoice('mine', 5);
    await desk.until(1, 'the reminder the person chose');
    // Showing the calendar again brings its default back for what has not been shown.
    await desk.reminders.setHidden([]);
    await desk.until(2, 'the default of a shown calendar');
    await desk.reminders.setChoice('mine', null);
    expect(desk.ids()).toEqual(['mine', 'hidden']);
    const kept = JSON.parse(await readFile(join(dir, 'desk', 'reminders.json'), 'utf8'));
    expect(kept.choices).toEqual({ quiet: 'none' });
    expect(kept.hidden).toEqual([]);
  });

  it('starts afresh from an unreadable file, and knows no choices in the lobby', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'desk'), { recursive: true });
    await writeFile(join(dir, 'desk', 'reminders.json'), '{"choices": {"e1": 10}, "fired": {');
    const desk = engine();
    expect(await desk.reminders.choices()).toEqual({});
    expect(lines.some((l) => /reminders.json unreadable/.test(l))).toBe(true);
    const lobby = startDeskReminders({ current: () => null, notify: () => undefined, log });
    engines.push(lobby);
    expect(await lobby.choices()).toEqual({});
    await expect(lobby.setChoice('e1', 10)).rejects.toThrow(/no calendar/);
  });
});
