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

/**
 * The calendar's settings for calendar apps: its time zone, the feed URLs with copy buttons, a new
 * feed address (which revokes the old one), the CalDAV account, and importing an .ics file (chosen,
 * or dropped anywhere on the page).
 */
export function mountSettings(options: SettingsOptions) {
  const { api, calendars, status, button, dialog } = options;
  const $ = <T extends HTMLElement>(id: string) => dialog.querySelector<T>(`#${id}`)!;
  const zoneForm = $<HTMLFormElement>('zone-form');
  const zoneInput = $<HTMLInputElement>('zone-input');
  const zoneList = $<HTMLDataListElement>('zone-list');
  const feedList = $<HTMLUListElement>('feed-list');
  const rotate = $<HTMLButtonElement>('feed-rotate');
  const rotateConfirm = $('feed-rotate-confirm');
  const importForm = $<HTMLFormElement>('import-form');
  const importFile = $<HTMLInputElement>('import-file');
  const importCalendar = $<HTMLSelectElement>('import-calendar');
  const importDrop = $('import-drop');
  const importResult = $('import-result');
  let staged: File | null = null;
  let zones: string[] = [];

  const request = async (method: string, path: string, body?: BodyInit, type = 'application/json') => {
    const res = await fetch(api.baseUrl + path, { method, headers: { 'Remote-Token': api.token, ...(body !== undefined && { 'Content-Type': type }) }, body });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.message ?? `the host answered ${res.status}`);
    return answer;
  };

  const copyRow = (label: string, value: string, testId: string) => {
    const row = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'feed-name';
    name.textContent = label;
    const field = document.createElement('input');
    field.readOnly = true;
    field.value = value;
    field.dataset.feed = testId;
    field.setAttribute('aria-label', `${label}: address`);
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'quiet';
    copy.textContent = 'Copy';
    copy.addEventListener('click', () => void copyText(field, copy));
    row.append(name, field, copy);
    return row;
  };

  const render = (settings: CalendarSettings) => {
    zoneInput.value = settings.timeZone;
    if (zones.length !== settings.zones.length) {
      zones = settings.zones;
      zoneList.replaceChildren(...zones.map((z) => Object.assign(document.createElement('option'), { value: z })));
    }
    feedList.replaceChildren(
      copyRow('All calendars', settings.feeds.all, 'all'),
      ...settings.feeds.calendars.map((c) => copyRow(c.name, c.url, c.id)),
      copyRow('Events in no calendar', settings.feeds.none, 'none'),
    );
    $('caldav-url').textContent = settings.caldav.url;
    importCalendar.replaceChildren(
      Object.assign(document.createElement('option'), { value: '', textContent: 'No calendar' }),
      ...calendars.all().sort((a, b) => a.name.localeCompare(b.name)).map((c) => Object.assign(document.createElement('option'), { value: c.id, textContent: c.name })),
    );
    dialog.dataset.loaded = 'true';
  };

  const open = async () => {
    rotateConfirm.hidden = true;
    if (!dialog.open) dialog.showModal();
    try {
      render(await request('GET', SETTINGS));
    } catch (err) {
      status.toast(`Could not load the calendar settings: ${(err as Error).message}`, 'error');
    }
  };

  button.addEventListener('click', () => void open());
  $('settings-close').addEventListener('click', () => dialog.close());

  zoneForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const zone = zoneInput.value.trim();
    if (zones.length && !zones.includes(zone)) {
      status.toast(`“${zone}” is not a time zone this calendar knows. Pick one from the list, such as Europe/Berlin.`, 'error');
      return;
    }
    try {
      render(await request('PUT', SETTINGS, JSON.stringify({ timeZone: zone })));
      status.toast(`The calendar's time zone is now ${zone}. Calendar apps read its times in that zone.`);
    } catch (err) {
      status.toast(`Could not change the time zone: ${(err as Error).message}`, 'error');
    }
  });

  rotate.addEventListener('click', () => void (rotateConfirm.hidden = false));
  $('feed-rotate-cancel').addEventListener('click', () => void (rotateConfirm.hidden = true));
  $('feed-rotate-yes').addEventListener('click', async () => {
    try {
      render(await request('POST', `${SETTINGS}/new-feed-address`));
      rotateConfirm.hidden = true;
      status.toast('New feed addresses made. The old ones no longer work: send the new ones to whoever subscribed.');
    } catch (err) {
      status.toast(`Could not make a new feed address: ${(err as Error).message}`, 'error');
    }
  });
  $('caldav-copy-password').addEventListener('click', (e) => {
    const field = Object.assign(document.createElement('input'), { value: api.token });
    void copyText(field, e.currentTarget as HTMLButtonElement);
  });

  const stage = (file: File | null) => {
    staged = file && isIcs(file) ? file : null;
    importDrop.textContent = staged ? `Ready to import ${staged.name}` : file ? `${file.name} is not an .ics file` : 'Or drop an .ics file here, or anywhere on the page';
    importDrop.dataset.staged = String(!!staged);
  };
  importFile.addEventListener('change', () => stage(importFile.files?.[0] ?? null));
  importForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!staged) {
      importResult.textContent = 'Choose an .ics file first (exported from Google, Outlook, Thunderbird, Apple…).';
      return;
    }
    importResult.textContent = `Importing ${staged.name}…`;
    try {
      const query = importCalendar.value ? `?calendar=${encodeURIComponent(importCalendar.value)}` : '';
      const outcome: ImportOutcome = await request('POST', `/api/v1/import${query}`, await staged.text(), 'text/calendar');
      importResult.textContent = outcome.summary;
      status.toast(outcome.summary, outcome.skipped.length ? 'warning' : 'info', 12_000);
      stage(null);
      importForm.reset();
    } catch (err) {
      importResult.textContent = `The file was not imported: ${(err as Error).message}`;
    }
  });

  // A file dropped anywhere on the page opens the import, ready to go.
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
    importResult.textContent = '';
    void open();
  });
  return { open };
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
