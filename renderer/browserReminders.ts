import type { Choice, OpenTarget } from '../main/desktop/ipc.js';
import { planReminders, reminderText, type Reminder } from '../main/desktop/reminderPlan.js';
import type { Api } from './api.js';
import type { Calendars } from './calendars.js';
import type { Status } from './status.js';

// Reminders in a browser (the desktop app shows its own): this page plans them with the same
// planner as the desk, from the events around now, and shows them with the Notification API when
// the person allows it (else as a message in the page). Of several tabs of this browser on the
// calendar, one plans (a Web Lock), and a reminder shown is remembered in this browser's storage.

const FIRED_KEY = 'lan-scheduler.reminders.fired';
const LOCK = 'lan-scheduler-reminders';
const DAY_MS = 86_400_000;
const LOOKBACK_MS = 2 * DAY_MS;
/** How often the events around now are fetched again (changes seen in this page refresh sooner). */
const REFRESH_MS = 60_000;

export interface BrowserRemindersOptions {
  api: Api;
  calendars: Calendars;
  status: Status;
  choices(): Record<string, Choice>;
  hidden(): ReadonlySet<string>;
  open(target: OpenTarget): void;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function readFired(): Record<string, number> {
  try {
    return JSON.parse(localStorage.getItem(FIRED_KEY) ?? '{}') as Record<string, number>;
  } catch {
    return {};
  }
}

export function startBrowserReminders(options: BrowserRemindersOptions) {
  const { api, status } = options;
  const supported = typeof Notification !== 'undefined';
  let events: ({ id: string } & Record<string, unknown>)[] = [];
  let zone: string | null = null;
  let fetchedAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let soon: ReturnType<typeof setTimeout> | undefined;

  /** The events around now: a few days either side (a series comes with its exceptions). */
  const refresh = async () => {
    const now = Date.now();
    const [found, settings] = await Promise.all([
      api.getRaw(`/events?from=${day(now - LOOKBACK_MS - DAY_MS)}&to=${day(now + 3 * DAY_MS)}`),
      zone && now - fetchedAt < 5 * REFRESH_MS ? null : api.getRaw('/api/v1/calendar-settings'),
    ]);
    events = found;
    if (settings) zone = settings.timeZone;
    fetchedAt = now;
  };

  const show = (reminder: Reminder) => {
    const target: OpenTarget = { eventId: reminder.eventId, series: reminder.series, start: reminder.start };
    const { title, body } = reminderText(reminder, Date.now());
    if (supported && Notification.permission === 'granted') {
      const n = new Notification(title, { body, tag: reminder.key });
      n.onclick = () => {
        window.focus();
        options.open(target);
        n.close();
      };
    } else {
      status.toast(`${title} · ${body}`, 'info', 120_000, { label: 'Open', run: () => options.open(target) });
    }
  };

  const plan = () => {
    if (!zone) return null;
    const now = Date.now();
    const result = planReminders(
      { events, calendars: options.calendars.all() as never, zone, choices: options.choices(), hidden: options.hidden() },
      { now, lookbackMs: LOOKBACK_MS, horizonMs: REFRESH_MS },
    );
    // Read again right before showing: another tab may have had the lock a moment ago.
    const fired = readFired();
    for (const [key, end] of Object.entries(fired)) if (!(end >= now - DAY_MS)) delete fired[key];
    const fresh = result.due.filter((r) => fired[r.key] === undefined);
    for (const r of fresh) fired[r.key] = r.endAt;
    localStorage.setItem(FIRED_KEY, JSON.stringify(fired));
    fresh.forEach(show);
    return result.next;
  };

  const loop = async () => {
    clearTimeout(timer);
    try {
      if (Date.now() - fetchedAt >= REFRESH_MS) await refresh();
      const next = plan();
      timer = setTimeout(() => void loop(), Math.max(0, Math.min(REFRESH_MS - (Date.now() - fetchedAt), (next ?? Infinity) - Date.now())));
    } catch (err) {
      // The host may be away for a moment (a hand-over): try again at the next refresh.
      timer = setTimeout(() => void loop(), REFRESH_MS);
      console.warn(`reminders: ${(err as Error).message}`);
    }
  };

  const start = () => {
    if (running) return;
    running = true;
    void loop();
  };
  // One planning tab per browser: the others wait for the lock, which passes on when that tab closes.
  if (navigator.locks) void navigator.locks.request(LOCK, () => new Promise<void>(() => start()));
  else start();

  return {
    /** Something changed in this page (an event, a choice): look again shortly. */
    changed() {
      if (!running) return;
      clearTimeout(soon);
      soon = setTimeout(() => {
        fetchedAt = 0;
        void loop();
      }, 300);
    },
    /** What the Reminders dialog says about notifications in this browser. */
    renderPermission: (el: HTMLElement) => renderPermission(el, supported),
  };
}

/** Says in `el` whether this browser shows reminders as notifications, with a button to allow them if it may ask. */
function renderPermission(el: HTMLElement, supported: boolean) {
  const text = document.createElement('p');
  el.replaceChildren(text);
  if (!supported) {
    text.textContent = 'This browser cannot show notifications here: reminders appear in this page while it is open.';
    return;
  }
  const permission = Notification.permission;
  text.textContent =
    permission === 'granted'
      ? 'This browser shows your reminders as notifications while a page of the calendar is open.'
      : permission === 'denied'
        ? 'Notifications are blocked for this site in the browser’s settings: reminders appear in this page while it is open.'
        : 'Reminders appear in this page while it is open. Allow notifications to see them in other windows too.';
  if (permission === 'default') {
    const allow = document.createElement('button');
    allow.type = 'button';
    allow.className = 'quiet';
    allow.textContent = 'Allow notifications';
    allow.addEventListener('click', () => void Notification.requestPermission().then(() => renderPermission(el, supported)));
    el.append(allow);
  }
}
