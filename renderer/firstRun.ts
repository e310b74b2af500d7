import type { DesktopBridge, DesktopState } from './connection.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The key in what was pasted into a calendar's key field: a bare key, or a whole invite (`…&k=KEY&…`). */
export function keyFromInvite(text: string): string {
  return (/[?&]k=([A-Za-z0-9_-]{8,200})/.exec(text)?.[1] ?? text).trim();
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The desktop's first run (and what follows leaving): create a calendar for this office, or
 * join one found on the LAN with its key. On success the desktop moves the window to the
 * calendar, so this screen only ever has to show progress and errors.
 */
export function showFirstRun(bridge: DesktopBridge, initial: DesktopState) {
  document.body.dataset.firstRun = 'true';
  $('first-run').hidden = false;

  const form = $<HTMLFormElement>('create-form');
  const createError = $('create-error');
  const createButton = form.querySelector('button')!;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = String(new FormData(form).get('name') ?? '').trim();
    createError.hidden = true;
    if (!name) {
      createError.textContent = 'Give the calendar a name.';
      createError.hidden = false;
      return;
    }
    createButton.disabled = true;
    createButton.textContent = 'Creating…';
    try {
      await bridge.createCalendar(name);
      createButton.textContent = 'Opening the calendar…';
    } catch (err) {
      createError.textContent = messageOf(err);
      createError.hidden = false;
      createButton.disabled = false;
      createButton.textContent = 'Create calendar';
    }
  });

  // A whole invite joins by unicast (it names where the desks are); only a key asks the desks found here.
  const inviteForm = $<HTMLFormElement>('invite-form');
  const inviteError = $('invite-error');
  const inviteButton = inviteForm.querySelector('button')!;
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    inviteError.hidden = true;
    inviteButton.disabled = true;
    inviteButton.textContent = 'Joining…';
    try {
      await bridge.joinInvite(String(new FormData(inviteForm).get('invite') ?? ''));
      inviteButton.textContent = 'Opening the calendar…';
    } catch (err) {
      inviteError.textContent = messageOf(err);
      inviteError.hidden = false;
      inviteButton.disabled = false;
      inviteButton.textContent = 'Join';
    }
  });

  // Rows are kept by calendar id, so a key being typed survives the list refreshing.
  const list = $('found-list');
  const rows = new Map<string, HTMLLIElement>();
  const render = (found: DesktopState['found']) => {
    const ids = new Set(found.map((c) => c.id));
    for (const [id, row] of rows) {
      if (!ids.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    for (const calendar of found) {
      const row = rows.get(calendar.id) ?? joinRow(bridge, calendar);
      row.querySelector('.found-name')!.textContent = calendar.name;
      row.querySelector('input')!.setAttribute('aria-label', `Key for ${calendar.name}`);
      if (!rows.has(calendar.id)) rows.set(calendar.id, row);
      list.append(row); // in the order given (by name)
    }
    $('found-empty').hidden = found.length > 0;
  };
  render(initial.found);
  bridge.onState((state) => render(state.found));
}

function joinRow(bridge: DesktopBridge, calendar: { id: string; name: string }): HTMLLIElement {
  const row = document.createElement('li');
  row.className = 'found';
  row.dataset.calendarId = calendar.id;
  const form = document.createElement('form');
  form.autocomplete = 'off';
  const name = document.createElement('span');
  name.className = 'found-name';
  const key = document.createElement('input');
  key.type = 'password';
  key.name = 'key';
  key.placeholder = 'Key';
  key.required = true;
  const button = document.createElement('button');
  button.type = 'submit';
  button.textContent = 'Join';
  const error = document.createElement('p');
  error.className = 'error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  form.append(name, key, button, error);
  row.append(form);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    button.disabled = true;
    button.textContent = 'Joining…';
    try {
      await bridge.joinCalendar(calendar.id, keyFromInvite(key.value));
      button.textContent = 'Opening…';
    } catch (err) {
      error.textContent = messageOf(err);
      error.hidden = false;
      button.disabled = false;
      button.textContent = 'Join';
    }
  });
  return row;
}
