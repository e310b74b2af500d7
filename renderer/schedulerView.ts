import { scheduler as shipped } from 'dhtmlx-scheduler';
import type { Api } from './api.js';
import type { Calendars } from './calendars.js';
import { startLiveSync, type LinkState, type RemoteEventsClass, type SocketWatch } from './liveSync.js';
import { createRangeLoader } from './ranges.js';
import type { Status } from './status.js';
import { escapeHtml } from './text.js';

// The shipped typings cover the public API only; live updates and the data processor's state are not in them.
const scheduler = shipped as any;

export interface SchedulerViewOptions {
  container: HTMLElement;
  minical: HTMLElement;
  api: Api;
  calendars: Calendars;
  status: Status;
  sockets: SocketWatch;
  onLink(state: LinkState): void;
  /** Messages of the `presence` live entity (who is online), which desks publish. */
  onPresence?(message: any): void;
  /** "Remind me" in the editor (renderer/reminders.ts). */
  reminders?: { attach(scheduler: any): void };
}

const VIEWS = ['day', 'week', 'month', 'agenda'];
/** No view draws more occurrences of one series than this: an hourly series over a year is 8,760 boxes. */
export const MAX_OCCURRENCES_PER_VIEW = 400;

/**
 * Caps what the recurring extension expands for one series in one view. Its own `maxCount` cannot be
 * used for this: it appends COUNT to the rule, which counts from the series' start, not in the view.
 */
function capOccurrences() {
  const expand = scheduler.repeat_date;
  scheduler.repeat_date = function (this: unknown, ev: unknown, stack: unknown[], ...rest: unknown[]) {
    const before = stack.length;
    const result = expand.call(this, ev, stack, ...rest);
    if (stack.length - before > MAX_OCCURRENCES_PER_VIEW) stack.length = before + MAX_OCCURRENCES_PER_VIEW;
    return result;
  };
}

/** The shared calendar: views, editor, calendars, saving through REST and live updates with catch-up. */
export async function mountScheduler(options: SchedulerViewOptions) {
  const { container, api, calendars, status } = options;
  scheduler.plugins({ recurring: true, quick_info: true, agenda_view: true, minical: true, tooltip: true });
  capOccurrences();
  scheduler.config.date_format = '%Y-%m-%d %H:%i';
  scheduler.config.first_hour = 6;
  scheduler.config.scroll_hour = 8;
  scheduler.config.time_step = 15;
  scheduler.config.event_duration = 60;
  scheduler.config.auto_end_date = true;
  scheduler.config.header = ['day', 'week', 'month', 'agenda', 'date', 'prev', 'today', 'next'];
  scheduler.config.lightbox.sections = [
    { name: 'description', height: 50, map_to: 'text', type: 'textarea', focus: true },
    { name: 'calendar', height: 23, map_to: 'calendar_id', type: 'select', options: calendarOptions(calendars) },
    { name: 'recurring', type: 'recurring', map_to: 'rrule' },
    { name: 'time', height: 72, type: 'time', map_to: 'auto' },
    ...(options.reminders ? [{ name: 'reminder', height: 30, type: 'reminder', map_to: 'auto' }] : []),
  ];
  scheduler.locale.labels.section_calendar = 'Calendar';
  scheduler.locale.labels.section_description = 'Title';

  // Text in the model is plain: every template that renders HTML escapes it.
  const text = (_s: Date, _e: Date, ev: any) => escapeHtml(ev.text);
  const escapeTemplates = () => {
    const t = scheduler.templates;
    t.event_text = t.event_bar_text = t.agenda_text = text;
    t.quick_info_title = (_s: Date, _e: Date, ev: any) => escapeHtml(String(ev.text ?? '').slice(0, 80));
    t.quick_info_content = (_s: Date, _e: Date, ev: any) => escapeHtml(ev.details ?? '');
    t.tooltip_text = (s: Date, e: Date, ev: any) =>
      `<b>${escapeHtml(ev.text)}</b><br>${escapeHtml(scheduler.templates.tooltip_date_format(s))} – ${escapeHtml(scheduler.templates.tooltip_date_format(e))}`;
    t.event_class = (_s: Date, _e: Date, ev: any) => calendars.classFor(ev.calendar_id);
  };
  scheduler.attachEvent('onTemplatesReady', escapeTemplates);

  const visible = (_id: string, ev: any) => calendars.visible(ev.calendar_id);
  for (const view of VIEWS) scheduler[`filter_${view}`] = visible;
  calendars.onChange(() => {
    scheduler.updateCollection?.('calendars', calendarOptions(calendars));
    const section = scheduler.config.lightbox.sections.find((s: any) => s.name === 'calendar');
    if (section) section.options = calendarOptions(calendars);
    scheduler.resetLightbox();
    if (scheduler.getState().mode) scheduler.setCurrentView();
  });

  scheduler.init(container, new Date(), 'week');
  escapeTemplates();
  options.reminders?.attach(scheduler);
  const minical = scheduler.renderCalendar({
    container: options.minical,
    navigation: true,
    handler(date: Date) {
      scheduler.setCurrentView(date);
    },
  });
  // The small month follows the big calendar when it moves to another month.
  scheduler.attachEvent('onViewChange', (_mode: string, date: Date) => scheduler.updateCalendar(minical, date));

  const { ranges, load } = loadByRange(api, calendars, status);
  const loaded = await load();

  // The shipped createDataProcessor ignores `headers`; the transaction mode is where they take effect.
  const dp = scheduler.createDataProcessor({ url: `${api.baseUrl}/events`, mode: 'REST-JSON' });
  dp.setTransactionMode({ mode: 'REST-JSON', headers: { 'Remote-Token': api.token } });
  dp.attachEvent('onAfterUpdate', (_id: string, action: string, _tid: string, response: any) => {
    if (action === 'error' || action === 'invalid') {
      status.toast(`Could not save: ${response?.message ?? 'the host refused the change'}`, 'error');
    }
  });
  reportSaveErrors(status);

  const { RemoteEvents, remoteUpdates } = scheduler.ext.liveUpdates as { RemoteEvents: RemoteEventsClass; remoteUpdates: any };
  // What to do when a colleague deletes the event this person has open in the editor: close the
  // editor, say so, and offer to put their version back as a new event.
  scheduler.attachEvent('onLiveUpdateCollision', (_id: string, _newId: string, action: string) => {
    if (action !== 'delete') return true;
    const draft = editorDraft();
    scheduler.endLightbox(false);
    status.toast('A colleague deleted the event you were editing.', 'warning', 15000, {
      label: 'Keep my version',
      run: () => scheduler.addEvent(draft),
    });
    return false;
  });
  const events = (live: { type: string; event: { id: string; start_date?: string; end_date?: string }; rev?: number }) => {
    const at = ranges.loadedAt(String(live.event?.id));
    // Older than the copy a range load brought: already in it.
    if (at !== undefined && typeof live.rev === 'number' && live.rev <= at) return;
    // An event moved into the loaded months from outside them is new to this page: add it.
    const message =
      live.type === 'update-event' && !scheduler.getEvent(live.event.id) && ranges.covers(live.event.start_date, live.event.end_date)
        ? { ...live, type: 'add-event' }
        : live;
    // The shipped handler reaches the collision through `this`, which is undefined in the ES
    // build (it throws). Raise the collision here, before the delete reaches the handler.
    const open = scheduler.getState().lightbox_id;
    if (message.type === 'delete-event' && open != null && String(open) === String(message.event.id)) {
      scheduler.callEvent('onLiveUpdateCollision', [open, null, 'delete', message.event]);
    }
    remoteUpdates.events(message);
  };
  const editorDraft = () => {
    const ev = scheduler.getEvent(scheduler.getState().lightbox_id) ?? {};
    const time = scheduler.formSection('time')?.getValue() ?? {};
    const { id: _ignored, ...rest } = ev;
    return {
      ...rest,
      text: scheduler.formSection('description')?.getValue() ?? ev.text,
      calendar_id: scheduler.formSection('calendar')?.getValue() ?? ev.calendar_id,
      start_date: time.start_date ?? ev.start_date,
      end_date: time.end_date ?? ev.end_date,
    };
  };

  startLiveSync({
    RemoteEvents,
    api,
    handlers: { events, calendars: calendars.handle, ...(options.onPresence && { presence: options.onPresence }) },
    loaded,
    reload: load,
    onState: options.onLink,
    sockets: options.sockets,
  });
  return scheduler;
}

/**
 * Events load by range: the view and a month either side, more as the person moves (ranges.ts).
 * `load` (first, and again after a reload) starts over with the calendars and this view's events.
 */
function loadByRange(api: Api, calendars: Calendars, status: Status) {
  // Events are shown once the calendars are known: setting those re-renders the view (filters,
  // colours), and doing it after the events were drawn drew a busy week twice on the first paint.
  let calendarsKnown: Promise<unknown> = Promise.resolve();
  const ranges = createRangeLoader({
    fetch: async (from, to) => {
      const answer = await api.eventsIn(from, to);
      await calendarsKnown;
      return { records: answer.body, revision: answer.revision };
    },
    // What the page already holds is as new or newer (live updates keep it so): only the rest is added.
    apply: (records) => {
      const fresh = records.filter((r) => !scheduler.getEvent(r.id));
      if (fresh.length > 0) scheduler.parse(fresh);
    },
    onError: (err) => status.toast(`Could not load the calendar's events (${err.message}); trying again.`, 'warning', 10_000),
  });
  const shown = (): [Date, Date] => {
    const state = scheduler.getState();
    return [state.min_date, state.max_date];
  };
  scheduler.attachEvent('onViewChange', () => void ranges.ensure(...shown()));
  // Calendars and this view's events load together; the older of the two revisions is where catch-up starts.
  const load = async () => {
    ranges.reset();
    scheduler.clearAll();
    const fetched = api.calendars();
    calendarsKnown = fetched.then((cals) => calendars.set(cals.body as any)).catch(() => undefined);
    const [cals, revision] = await Promise.all([fetched, ranges.ensure(...shown())]);
    return { revision: Math.min(cals.revision, revision ?? cals.revision), storeId: cals.storeId };
  };
  return { ranges, load };
}

/**
 * Any answer but 200 (a full disk is 507) is raised on the scheduler, not the data processor, and
 * never reaches onAfterUpdate: say why, in words.
 */
function reportSaveErrors(status: Status) {
  scheduler.attachEvent('onSaveError', (_ids: unknown, xhr: { status?: number; responseText?: string }) => {
    let message = '';
    try {
      message = String(JSON.parse(xhr?.responseText ?? '')?.message ?? '');
    } catch {
      // not JSON: fall back to the status
    }
    status.toast(`Could not save: ${message || `the host answered ${xhr?.status ?? 'nothing'}`}. The change is not kept.`, 'error', 15_000);
  });
}

function calendarOptions(calendars: Calendars) {
  return [{ key: '', label: 'No calendar' }, ...calendars.all().map((c) => ({ key: c.id, label: escapeHtml(c.name) }))];
}
