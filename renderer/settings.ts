import type { Api } from './api.js';
import type { Calendars } from './calendars.js';
import type { Status } from './status.js';

/** What GET /api/v1/calendar-settings answers. */
interface CalendarSettings {
  timeZone: string;
  zones: string[];
  feeds: { all: string; none: string; calendars: { id: string; name: string; url: string }[] };
  caldav: { url: string };
}

interface ImportOutcome {
  summary: string;
  imported: unknown[];
  skipped: { title: string; reason: string }[];
}

export interface SettingsOptions {
  api: Api;
  calendars: Calendars;
  status: Status;
  button: HTMLButtonElement;
  dialog: HTMLDialogElement;
}

const SETTINGS = '/api/v1/calendar-settings';
const isIcs = (file: File) => /\.(ics|ical|ifb|icalendar)$/i.test(file.name) || file.type === 'text/calendar';

type Request = Api['send'];
type Find = <T extends HTMLElement>(id: string) => T;

/**
 * The calendar's settings for calendar apps: its time zone, the feed URLs with copy buttons, a new
 * feed address (which revokes the old one), the CalDAV account, and importing an .ics file (chosen,
 * or dropped anywhere on the page).
 */
export function mountSettings(options: SettingsOptions) {
  const { api, calendars, status, button, dialog } = options;
  const $: Find = <T extends HTMLElement>(id: string) => dialog.querySelector<T>(`#${id}`)!;
  const request = api.send;
  const render = (settings: CalendarSettings) => {
    zone.render(settings);
    feeds.render(settings);
    $('caldav-url').textContent = settings.caldav.url;
    imports.render();
    dialog.dataset.loaded = 'true';
  };
  const zone = zoneSection($, request, status, render);
  const feeds = feedSection($, request, status, render);
  const open = async () => {
    feeds.reset();
    if (!dialog.open) dialog.showModal();
    try {
      render(await request('GET', SETTINGS));
    } catch (err) {
      status.toast(`Could not load the calendar settings: ${(err as Error).message}`, 'error');
    }
  };
  const imports = importSection($, request, status, calendars, open);

  button.addEventListener('click', () => void open());
  $('settings-close').addEventListener('click', () => dialog.close());
  $('caldav-copy-password').addEventListener('click', (e) => {
    const field = Object.assign(document.createElement('input'), { value: api.token });
    void copyText(field, e.currentTarget as HTMLButtonElement);
  });
  return { open };
}

/** The calendar's IANA zone: a searchable list (a datalist), saved for the whole calendar. */
function zoneSection($: Find, request: Request, status: Status, render: (s: CalendarSettings) => void) {
  const form = $<HTMLFormElement>('zone-form');
  const input = $<HTMLInputElement>('zone-input');
  const list = $<HTMLDataListElement>('zone-list');
  let zones: string[] = [];
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const zone = input.value.trim();
    if (zones.length && !zones.includes(zone)) {
      status.toast(`“${zone}” is not a time zone this calendar knows. Pick one from the list, such as Europe/Berlin.`, 'error');
      return;
    }
    try {
      render(await request('PUT', SETTINGS, { timeZone: zone }));
      status.toast(`The calendar's time zone is now ${zone}. Calendar apps read its times in that zone.`);
    } catch (err) {
      status.toast(`Could not change the time zone: ${(err as Error).message}`, 'error');
    }
  });
  return {
    render(settings: CalendarSettings) {
      input.value = settings.timeZone;
      if (zones.length === settings.zones.length) return;
      zones = settings.zones;
      list.replaceChildren(...zones.map((z) => Object.assign(document.createElement('option'), { value: z })));
    },
  };
}

/** The feed URLs, each with a copy button, and a new address for all of them (asked twice). */
function feedSection($: Find, request: Request, status: Status, render: (s: CalendarSettings) => void) {
  const list = $<HTMLUListElement>('feed-list');
  const confirm = $('feed-rotate-confirm');
  // Served to this computer only (the desktop window), the addresses name 127.0.0.1: say so.
  const local = Object.assign(document.createElement('p'), {
    className: 'muted',
    hidden: true,
    textContent: 'These addresses name this computer. On other devices use the desk’s network address from the invite instead of 127.0.0.1.',
  });
  list.after(local);
  $('feed-rotate').addEventListener('click', () => void (confirm.hidden = false));
  $('feed-rotate-cancel').addEventListener('click', () => void (confirm.hidden = true));
  $('feed-rotate-yes').addEventListener('click', async () => {
    try {
      render(await request('POST', `${SETTINGS}/new-feed-address`));
      confirm.hidden = true;
      status.toast('New feed addresses made. The old ones no longer work: send the new ones to whoever subscribed.');
    } catch (err) {
      status.toast(`Could not make a new feed address: ${(err as Error).message}`, 'error');
    }
  });
  return {
    reset: () => void (confirm.hidden = true),
    render(settings: CalendarSettings) {
      list.replaceChildren(
        copyRow('All calendars', settings.feeds.all, 'all'),
        ...settings.feeds.calendars.map((c) => copyRow(c.name, c.url, c.id)),
        copyRow('Events in no calendar', settings.feeds.none, 'none'),
      );
      local.hidden = !/^https?:\/\/(127\.|localhost[:/]|\[::1\])/.test(settings.feeds.all);
    },
  };
}

function copyRow(label: string, value: string, feed: string) {
  const row = document.createElement('li');
  const name = Object.assign(document.createElement('span'), { className: 'feed-name', textContent: label });
  const field = Object.assign(document.createElement('input'), { readOnly: true, value });
  field.dataset.feed = feed;
  field.setAttribute('aria-label', `${label}: address`);
  const copy = Object.assign(document.createElement('button'), { type: 'button', className: 'quiet', textContent: 'Copy' });
  copy.addEventListener('click', () => void copyText(field, copy));
  row.append(name, field, copy);
  return row;
}

/** Import: a chosen file, or one dropped anywhere on the page (which opens the dialog with it). */
function importSection($: Find, request: Request, status: Status, calendars: Calendars, open: () => Promise<void>) {
  const form = $<HTMLFormElement>('import-form');
  const file = $<HTMLInputElement>('import-file');
  const calendar = $<HTMLSelectElement>('import-calendar');
  const drop = $('import-drop');
  const result = $('import-result');
  let staged: File | null = null;
  const stage = (chosen: File | null) => {
    staged = chosen && isIcs(chosen) ? chosen : null;
    drop.textContent = staged ? `Ready to import ${staged.name}` : chosen ? `${chosen.name} is not an .ics file` : 'Or drop an .ics file here, or anywhere on the page';
    drop.dataset.staged = String(!!staged);
  };
  file.addEventListener('change', () => stage(file.files?.[0] ?? null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!staged) {
      result.textContent = 'Choose an .ics file first (exported from Google, Outlook, Thunderbird, Apple…).';
      return;
    }
    result.textContent = `Importing ${staged.name}…`;
    try {
      const query = calendar.value ? `?calendar=${encodeURIComponent(calendar.value)}` : '';
      const outcome: ImportOutcome = await request('POST', `/api/v1/import${query}`, await staged.text(), 'text/calendar');
      result.textContent = outcome.summary;
      status.toast(outcome.summary, outcome.skipped.length ? 'warning' : 'info', 12_000);
      stage(null);
      form.reset();
    } catch (err) {
      result.textContent = `The file was not imported: ${(err as Error).message}`;
    }
  });
  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer!.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    stage(e.dataTransfer!.files[0] ?? null);
    result.textContent = '';
    void open();
  });
  return {
    render() {
      const chosen = calendar.value;
      calendar.replaceChildren(
        Object.assign(document.createElement('option'), { value: '', textContent: 'No calendar' }),
        ...calendars.all().sort((a, b) => a.name.localeCompare(b.name)).map((c) => Object.assign(document.createElement('option'), { value: c.id, textContent: c.name })),
      );
      calendar.value = chosen;
      if (calendar.selectedIndex < 0) calendar.value = '';
    },
  };
}

/** Copies a field's text: the clipboard API where the page may use it, else the selection. */
async function copyText(field: HTMLInputElement, button: HTMLButtonElement) {
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
    document.execCommand('copy');
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = label), 1500);
}
