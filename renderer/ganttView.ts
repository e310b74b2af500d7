import type { Api } from './api.js';
import { startLiveSync, type LinkState, type RemoteEventsClass, type SocketWatch } from './liveSync.js';
import type { Status } from './status.js';
import { escapeHtml } from './text.js';

export interface GanttViewOptions {
  container: HTMLElement;
  api: Api;
  status: Status;
  sockets: SocketWatch;
  onLink(state: LinkState): void;
}

/** The Gantt's stylesheet (built as gantt.css beside the page), linked only when the tab first opens. */
function linkStylesheet(): Promise<void> {
  return new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = new URL('gantt.css', import.meta.url).href;
    link.onload = () => resolve();
    link.onerror = () => reject(new Error('the Gantt stylesheet did not load'));
    document.head.append(link);
  });
}

/** The office's projects: a Gantt chart on the same host and the same live channel (`tasks`, `links`). */
export async function mountGantt(options: GanttViewOptions) {
  const [{ gantt: shipped }] = await Promise.all([import('dhtmlx-gantt'), linkStylesheet()]);
  const gantt = shipped as any;
  const { api, status } = options;
  // Gantt's REST-JSON data processor sends ISO dates whatever date_format says; parse them the same way.
  gantt.config.date_format = 'iso';
  gantt.config.open_tree_initially = true;
  gantt.config.date_grid = '%d %M %Y';
  gantt.config.columns = [
    { name: 'text', label: 'Task', tree: true, width: '*', template: (t: any) => escapeHtml(t.text) },
    { name: 'start_date', label: 'Start', align: 'center', width: 100 },
    { name: 'duration', label: 'Days', align: 'center', width: 50 },
    { name: 'add', label: '', width: 40 },
  ];
  gantt.templates.task_text = (_s: Date, _e: Date, t: any) => escapeHtml(t.text);
  gantt.templates.tooltip_text = (_s: Date, _e: Date, t: any) => escapeHtml(t.text);
  gantt.templates.lightbox_header = (_s: Date, _e: Date, t: any) => escapeHtml(t.text);
  gantt.init(options.container);

  const load = async () => {
    const { body, revision, storeId } = await api.gantt();
    gantt.clearAll();
    gantt.parse(body);
    return { revision, storeId };
  };
  const loaded = await load();
  const dp = gantt.createDataProcessor({ url: `${api.baseUrl}/gantt`, mode: 'REST-JSON', headers: { 'Remote-Token': api.token } });
  dp.attachEvent('onAfterUpdate', (_id: string, action: string, _tid: string, response: any) => {
    if (action === 'error') status.toast(`Could not save: ${response?.message ?? 'the host refused the change'}`, 'error');
  });
  const { RemoteEvents, remoteUpdates } = gantt.ext.liveUpdates as { RemoteEvents: RemoteEventsClass; remoteUpdates: any };
  startLiveSync({
    RemoteEvents,
    api,
    handlers: { tasks: remoteUpdates.tasks, links: remoteUpdates.links },
    loaded,
    reload: load,
    onState: options.onLink,
    sockets: options.sockets,
  });
  return gantt;
}
