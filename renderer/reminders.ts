import { choiceLabel, isChoice, REMIND_MINUTES, type Choice, type OpenTarget, type ReminderBridge } from '../main/desktop/ipc.js';
import type { Api } from './api.js';
import type { Calendar, Calendars } from './calendars.js';
import type { DesktopBridge } from './connection.js';
import type { Status } from './status.js';

// "Remind me": a person's own choice per event (kept by the desktop app for this desk, or by this
// browser), and a calendar's default for everyone who shows that calendar (a field of the shared
// calendar record). The desktop app shows the notifications; a browser page plans and shows them
// itself (browserReminders.ts), with the Notification API if the person allows it.

export interface RemindersOptions {
  api: Api;
  calendars: Calendars;
  status: Status;
  bridge?: DesktopBridge & Partial<ReminderBridge>;
  button: HTMLButtonElement;
  dialog: HTMLDialogElement;
}

const CHOICES_KEY = 'lan-scheduler.reminders';

/** A calendar record with its default for everyone (`reminder_minutes`, shared like its name). */
type WithDefault = Calendar & { reminder_minutes?: unknown };
const withDefaults = (calendars: Calendars) => calendars.all() as WithDefault[];

/** Where this person's choices live: the desk (through the bridge) or this browser's storage. */
interface ChoiceStore {
  all(): Record<string, Choice>;
  set(eventId: string, choice: Choice | null): Promise<void>;
}

function browserChoices(): ChoiceStore {
  const read = (): Record<string, Choice> => {
    try {
      const kept = JSON.parse(localStorage.getItem(CHOICES_KEY) ?? '{}') as Record<string, unknown>;
      return Object.fromEntries(Object.entries(kept).filter((entry): entry is [string, Choice] => isChoice(entry[1])));
    } catch {
      return {};
    }
  };
  return {
    all: read,
    async set(eventId, choice) {
      const next = read();
      if (choice === null) delete next[eventId];
      else next[eventId] = choice;
      localStorage.setItem(CHOICES_KEY, JSON.stringify(next));
    },
  };
}

function deskChoices(bridge: ReminderBridge, initial: Record<string, Choice>): ChoiceStore {
  let cache = { ...initial };
  return {
    all: () => ({ ...cache }),
    async set(eventId, choice) {
      await bridge.setReminder(eventId, choice);
      cache = { ...cache };
      if (choice === null) delete cache[eventId];
      else cache[eventId] = choice;
    },
  };
}

/** A series' occurrence ("id#1717236000") and the series share one choice. */
const recordOf = (id: unknown) => String(id).split('#')[0]!;

/**
 * Mounts reminders: the Reminders dialog (calendar defaults; in a browser, notifications), the
 * choices, and, in a browser, the planner. `attach` adds "Remind me" to the Scheduler's editor.
 */
export async function mountReminders(options: RemindersOptions) {
  const { api, calendars, status, bridge } = options;
  const onDesk = Boolean(bridge?.reminders);
  const desk = onDesk ? (bridge as ReminderBridge) : null;
  const state = desk ? await desk.reminders() : null;
  const choices = desk ? deskChoices(desk, state!.choices) : browserChoices();
  const defaultOf = (calendarId: unknown) => {
    const minutes = Number(withDefaults(calendars).find((c) => c.id === calendarId)?.reminder_minutes ?? NaN);
    return isChoice(minutes) ? minutes : null;
  };
  const hiddenIds = () => calendars.all().filter((c) => !calendars.visible(c.id)).map((c) => c.id).sort();

  // The desk reminds of what its person shows: it hears which calendars are hidden.
  let told = '';
  const tellHidden = () => {
    const ids = hiddenIds();
    if (!desk || JSON.stringify(ids) === told) return;
    told = JSON.stringify(ids);
    desk.hideCalendars(ids).catch((err) => status.toast(`Reminders: ${(err as Error).message}`, 'error'));
  };
  calendars.onChange(tellHidden);
  tellHidden();

  let scheduler: any = null;
  const opened = new Set<string>();
  const open = (target: OpenTarget) => {
    if (scheduler) void openEvent(scheduler, target);
  };
  if (desk) {
    desk.onOpenEvent((target) => {
      open(target);
      // Taken: the desk forgets it (it keeps one for a page that was not there yet).
      void desk.reminders().catch(() => undefined);
    });
  }
  // In a browser the planner (and its own fetch of the days around now) starts once the calendar
  // has painted: on the page's critical path it cost the first view of a busy calendar a tenth of a second.
  const browser: EngineRef = { current: null, inBrowser: !desk };
  let starting: Promise<unknown> | null = null;
  mountDialog(options, browser);

  return {
    choices: () => choices.all(),
    /** Starts the browser's planner (once; nothing on a desk, whose app plans). */
    start() {
      if (desk || starting) return;
      starting = import('./browserReminders.js')
        .then((m) => m.startBrowserReminders({ api, calendars, status, choices: () => choices.all(), hidden: () => new Set(hiddenIds()), open }))
        .then((engine) => void (browser.current = engine))
        .catch((err) => status.toast(`Reminders are off: ${(err as Error).message}`, 'error', 15_000));
    },
    /** Adds "Remind me" to the editor and opens an event a notification asked for before the page was ready. */
    attach(s: any) {
      scheduler = s;
      addSection(s, choices, defaultOf, status, browser);
      s.attachEvent('onEventAdded', () => browser.current?.changed());
      s.attachEvent('onEventChanged', () => browser.current?.changed());
      s.attachEvent('onEventDeleted', () => browser.current?.changed());
      if (state?.open && !opened.has(JSON.stringify(state.open))) {
        opened.add(JSON.stringify(state.open));
        open(state.open);
      }
    },
  };
}

/** The editor's "Remind me" select: the person's choice, or the calendar's default (named). */
function addSection(s: any, choices: ChoiceStore, defaultOf: (calendarId: unknown) => number | null, status: Status, browser: EngineRef) {
  s.locale.labels.section_reminder = 'Remind me';
  let select: HTMLSelectElement | null = null;
  const fill = (ev: any) => {
    if (!select) return;
    const fallback = defaultOf(ev?.calendar_id);
    const own = choices.all()[recordOf(ev?.id)] ?? choices.all()[String(ev?.id)];
    const entries: [string, string][] = [
      ['', fallback === null ? 'None' : `${choiceLabel(fallback)} (the calendar’s default)`],
      ...(fallback === null ? [] : [['none', 'None'] as [string, string]]),
      ...REMIND_MINUTES.map((m): [string, string] => [String(m), choiceLabel(m)]),
    ];
    select.replaceChildren(...entries.map(([value, label]) => new Option(label, value)));
    select.value = own === undefined || (own === 'none' && fallback === null) ? '' : String(own);
  };
  s.form_blocks.reminder = {
    render: () => '<div class="dhx_cal_ltext reminder-section"><select class="reminder-choice" aria-label="Remind me"></select><span class="reminder-note">Only you get this reminder.</span></div>',
    set_value(node: HTMLElement, _value: unknown, ev: any) {
      select = node.querySelector('select');
      fill(ev);
    },
    get_value: (_node: HTMLElement, ev: any) => ev,
    focus() {},
  };
  // Kept under the event's id; a new event gets its id from the host after saving. An occurrence's
  // choice is its series' (every occurrence is reminded the same way).
  let pending: { id: string; choice: Choice | null } | null = null;
  const save = (id: string, choice: Choice | null) =>
    choices.set(id, choice).then(
      () => browser.current?.changed(),
      (err) => status.toast(`Could not keep the reminder: ${(err as Error).message}`, 'error'),
    );
  s.attachEvent('onEventSave', (id: unknown) => {
    if (!select) return true;
    const value = select.value;
    const choice: Choice | null = value === '' ? null : value === 'none' ? 'none' : Number(value);
    // Asked while the person is clicking Save: browsers only ask for permission on a gesture.
    if (choice !== null && choice !== 'none' && browser.inBrowser) askPermission();
    if (s.getState().new_event) pending = { id: String(id), choice };
    else if (choice !== (choices.all()[recordOf(id)] ?? null)) void save(recordOf(id), choice);
    return true;
  });
  s.attachEvent('onEventIdChange', (oldId: unknown, newId: unknown) => {
    if (!pending || pending.id !== String(oldId)) return;
    const { choice } = pending;
    pending = null;
    if (choice !== null) void save(recordOf(newId), choice);
  });
}

export type BrowserEngine = Awaited<ReturnType<typeof import('./browserReminders.js').startBrowserReminders>>;
/** The browser's planner once it has started (null before, and always on a desk). */
type EngineRef = { current: BrowserEngine | null; readonly inBrowser: boolean };

/** Here, not in the planner: it may not have loaded yet when the person first clicks Save. */
function askPermission() {
  if (typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission();
}

/** Shows the event a notification was about: its day, and its details. */
export async function openEvent(s: any, target: OpenTarget) {
  const start = s.date.str_to_date('%Y-%m-%d %H:%i')(target.start.slice(0, 16));
  const id = target.series ? `${target.eventId}#${Math.round(start.valueOf() / 1000)}` : target.eventId;
  s.setCurrentView(start, s.getState().mode === 'month' ? 'week' : undefined);
  // The view may load its events first (loading by range): wait for the event a little.
  for (let i = 0; i < 50 && !s.getEvent(id); i++) await new Promise((r) => setTimeout(r, 100));
  if (!s.getEvent(id)) return;
  document.body.dataset.openedEvent = id;
  if (s.showQuickInfo) s.showQuickInfo(id);
  else s.showLightbox(id);
}

/** The Reminders dialog: each calendar's default for everyone, and (in a browser) notifications. */
function mountDialog(options: RemindersOptions, browser: EngineRef) {
  const { api, calendars, status, button, dialog } = options;
  const list = dialog.querySelector<HTMLElement>('.reminder-defaults')!;
  const notify = dialog.querySelector<HTMLElement>('.reminder-browser')!;
  const render = () => {
    list.replaceChildren(
      ...withDefaults(calendars).map((c) => {
        const row = document.createElement('label');
        row.className = 'reminder-default';
        const name = document.createElement('span');
        name.textContent = c.name;
        const select = document.createElement('select');
        select.dataset.calendar = c.id;
        select.append(new Option('No reminder', ''), ...REMIND_MINUTES.map((m) => new Option(choiceLabel(m), String(m))));
        select.value = isChoice(Number(c.reminder_minutes)) ? String(c.reminder_minutes) : '';
        select.addEventListener('change', async () => {
          select.disabled = true;
          try {
            const { id: _id, ...record } = c;
            await api.send('PUT', `/calendars/${encodeURIComponent(c.id)}`, { ...record, reminder_minutes: select.value === '' ? null : Number(select.value) });
            status.toast(`${c.name}: ${select.value === '' ? 'no reminder for everyone' : `everyone who shows it is reminded ${choiceLabel(Number(select.value))}`}.`, 'info');
          } catch (err) {
            status.toast(`Could not change the reminder of ${c.name}: ${(err as Error).message}`, 'error');
          } finally {
            select.disabled = false;
          }
        });
        row.append(name, select);
        return row;
      }),
    );
    if (calendars.all().length === 0) list.textContent = 'No calendars yet.';
  };
  calendars.onChange(() => dialog.open && render());
  notify.hidden = !browser.inBrowser;
  button.hidden = false;
  button.addEventListener('click', () => {
    render();
    browser.current?.renderPermission(notify);
    dialog.showModal();
  });
  dialog.querySelector('.reminders-close')!.addEventListener('click', () => dialog.close());
}
