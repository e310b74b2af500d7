import type { Api } from './api.js';
import type { Status } from './status.js';

export interface Calendar {
  id: string;
  name: string;
  color: string;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SAFE_COLOR = /^#[0-9a-fA-F]{3,8}$/;
const PALETTE = ['#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#475569'];

/** The office's calendars (or rooms): the sidebar list with its filters, and the colours of events. */
export function createCalendars(options: { list: HTMLElement; form: HTMLFormElement; styles: HTMLStyleElement; api: Api; status: Status }) {
  const { list, form, styles, api, status } = options;
  const calendars = new Map<string, Calendar>();
  const hidden = new Set<string>(JSON.parse(localStorage.getItem('lan-scheduler.hidden') ?? '[]'));
  const listeners: (() => void)[] = [];
  const changed = () => {
    render();
    for (const l of listeners) l();
  };

  const render = () => {
    // Colours go into a stylesheet by class, so events never carry inline markup.
    styles.textContent = [...calendars.values()]
      .filter((c) => SAFE_ID.test(c.id) && SAFE_COLOR.test(c.color))
      .map((c) => `.cal-${c.id}{--cal-color:${c.color};--dhx-scheduler-event-background:${c.color};--dhx-scheduler-event-border:${c.color};}`)
      .join('\n');
    list.replaceChildren(
      ...[...calendars.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => {
          const row = document.createElement('label');
          row.className = 'calendar-row';
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.checked = !hidden.has(c.id);
          box.addEventListener('change', () => {
            if (box.checked) hidden.delete(c.id);
            else hidden.add(c.id);
            localStorage.setItem('lan-scheduler.hidden', JSON.stringify([...hidden]));
            changed();
          });
          const swatch = document.createElement('span');
          swatch.className = 'swatch';
          if (SAFE_COLOR.test(c.color)) swatch.style.background = c.color;
          const name = document.createElement('span');
          name.className = 'calendar-name';
          name.textContent = c.name;
          row.append(box, swatch, name);
          return row;
        }),
    );
    if (calendars.size === 0) {
      const empty = document.createElement('p');
      empty.className = 'muted';
      empty.textContent = 'No calendars yet. Add one for a team or a room.';
      list.append(empty);
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const name = String(data.get('name') ?? '').trim();
    if (!name) return;
    try {
      await api.send('POST', '/calendars', { name, color: String(data.get('color') || PALETTE[calendars.size % PALETTE.length]) });
      form.reset();
      (form.elements.namedItem('color') as HTMLInputElement).value = PALETTE[(calendars.size + 1) % PALETTE.length]!;
    } catch (err) {
      status.toast(`Could not add the calendar: ${(err as Error).message}`, 'error');
    }
  });

  return {
    set(all: Calendar[]) {
      calendars.clear();
      for (const c of all) calendars.set(c.id, c);
      changed();
    },
    /** The live handler for the `calendars` entity. */
    handle(message: { type: string; value: Calendar }) {
      if (!message.value?.id) return;
      if (message.type === 'delete-calendar') calendars.delete(message.value.id);
      else calendars.set(message.value.id, message.value);
      changed();
    },
    all: () => [...calendars.values()],
    visible: (id: unknown) => !(typeof id === 'string' && hidden.has(id)),
    classFor: (id: unknown) => (typeof id === 'string' && SAFE_ID.test(id) && calendars.has(id) ? `cal-${id}` : ''),
    onChange: (l: () => void) => void listeners.push(l),
  };
}

export type Calendars = ReturnType<typeof createCalendars>;
