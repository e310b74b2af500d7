import 'dhtmlx-scheduler/codebase/dhtmlxscheduler.css';
import './styles.css';
import { AuthError, createApi, type Api } from './api.js';
import { createCalendars } from './calendars.js';
import { getConnection, type Connection } from './connection.js';
import { mountDeskStatus } from './deskStatus.js';
import { mountReminders } from './reminders.js';
import { showFirstRun } from './firstRun.js';
import { watchSockets, type LinkState } from './liveSync.js';
import { mountScheduler } from './schedulerView.js';
import { mountSettings } from './settings.js';
import { createStatus } from './status.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Asks for the token until one works; resolves with an API that the host accepted. */
async function authenticate(connection: Connection): Promise<Api> {
  const screen = $('token-screen');
  const form = $<HTMLFormElement>('token-form');
  const error = $('token-error');
  let token = connection.token;
  let message = token ? '' : 'This calendar needs its access token.';
  for (;;) {
    if (token) {
      const api = createApi(connection.baseUrl, token);
      try {
        await api.handshake();
        connection.remember(token);
        screen.hidden = true;
        return api;
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        connection.forget();
        message = 'That token was not accepted. Check the invite link or ask the person who hosts the calendar.';
      }
    }
    error.textContent = message;
    error.hidden = !message;
    screen.hidden = false;
    token = await new Promise<string>((resolve) =>
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        resolve(String(new FormData(form).get('token') ?? '').trim());
      }, { once: true }),
    );
  }
}

async function main() {
  const status = createStatus($('link-state'), $('toasts'));
  // In the desktop window, a desk without a calendar yet shows the first-run screen instead.
  const bridge = window.lanScheduler;
  if (bridge) {
    const desk = await bridge.state();
    if (!desk.calendar) return showFirstRun(bridge, desk);
  }
  const connection = await getConnection();
  const api = await authenticate(connection);
  $('app').hidden = false;
  const deskStatus = mountDeskStatus({ bridge, status });

  const sockets = watchSockets();
  const linkStates: Record<string, LinkState> = {};
  let active = 'calendar';
  const showLink = (view: string) => (state: LinkState) => {
    linkStates[view] = state;
    if (view === active) status.link(state);
  };
  const calendars = createCalendars({
    list: $('calendar-list'),
    form: $<HTMLFormElement>('calendar-form'),
    styles: $<HTMLStyleElement>('calendar-colors'),
    api,
    status,
  });
  // "Remind me" in the editor, each calendar's default, and in a browser the notifications themselves.
  const reminders = await mountReminders({ api, calendars, status, bridge, button: $<HTMLButtonElement>('reminders-button'), dialog: $<HTMLDialogElement>('reminders-dialog') }).catch((err) => {
    status.toast(`Reminders are off: ${(err as Error).message}`, 'error', 15_000);
    return undefined;
  });
  // Like the vendor's own builds, the widgets are reachable from the console as `scheduler` and `gantt`.
  const scheduler = await mountScheduler({
    container: $('scheduler_here'),
    minical: $('minical'),
    api,
    calendars,
    status,
    sockets,
    onLink: showLink('calendar'),
    onPresence: deskStatus.presence,
    reminders,
  });
  Object.assign(window, { scheduler });
  // The calendar has painted: now the browser's reminder planner may fetch what it needs.
  reminders?.start();
  // Calendar apps: time zone, feed URLs, CalDAV account, and import (a dropped .ics file opens it).
  mountSettings({ api, calendars, status, button: $<HTMLButtonElement>('settings-button'), dialog: $<HTMLDialogElement>('settings-dialog') });
  $('settings-button').hidden = false;

  let gantt: Promise<unknown> | null = null;
  for (const tab of document.querySelectorAll<HTMLButtonElement>('.tabs [data-view]')) {
    tab.addEventListener('click', () => {
      active = tab.dataset.view!;
      for (const t of document.querySelectorAll<HTMLButtonElement>('.tabs [data-view]')) t.setAttribute('aria-selected', String(t === tab));
      $('view-calendar').hidden = active !== 'calendar';
      $('view-projects').hidden = active !== 'projects';
      document.body.dataset.view = active;
      if (active === 'projects') {
        gantt ??= import('./ganttView.js').then(({ mountGantt }) =>
          mountGantt({ container: $('gantt_here'), api, status, sockets, onLink: showLink('projects') }).then((g) => {
            Object.assign(window, { gantt: g });
            document.body.dataset.ganttReady = 'true';
            return g;
          }),
        );
        gantt.then((g: any) => g.render?.());
      }
      status.link(linkStates[active] ?? 'connecting');
    });
  }
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  const status = createStatus($('link-state'), $('toasts'));
  status.link('offline');
  status.toast(`LAN Scheduler could not start: ${(err as Error).message}`, 'error', 60_000);
});
