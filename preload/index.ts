// The window's only door to the desk. Bundled into one CommonJS file (a sandboxed preload can
// neither be ESM nor require our other files); `electron` stays external.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { Channel, unwrap, type DesktopState, type InvokeChannel, type IpcResult, type OpenTarget, type ReminderBridge } from '../main/desktop/ipc.js';
import type { DesktopBridge } from '../renderer/connection.js';

const invoke = async <T>(channel: InvokeChannel, ...args: unknown[]): Promise<T> =>
  unwrap((await ipcRenderer.invoke(channel, ...args)) as IpcResult<T>);

/** A listener for what the main process sends on `channel`: the page gets the value, never the event. */
function listen<T>(channel: typeof Channel.stateChanged | typeof Channel.openEvent, listener: (value: T) => void): () => void {
  // The IpcRendererEvent carries `sender` (ipcRenderer itself).
  const forward = (_event: IpcRendererEvent, value: T) => listener(value);
  ipcRenderer.on(channel, forward);
  return () => void ipcRenderer.removeListener(channel, forward);
}

// Named functions only: the page never gets ipcRenderer, an event, or a way to pick a channel.
const bridge: DesktopBridge & ReminderBridge = {
  connection: () => invoke(Channel.connection),
  state: () => invoke(Channel.state),
  onState: (listener) => listen<DesktopState>(Channel.stateChanged, listener),
  createCalendar: (name) => invoke(Channel.createCalendar, name),
  joinCalendar: (calendarId, joinKey) => invoke(Channel.joinCalendar, calendarId, joinKey),
  joinInvite: (text) => invoke(Channel.joinInvite, text),
  copyInvite: () => invoke(Channel.copyInvite),
  leave: () => invoke(Channel.leave),
  reminders: () => invoke(Channel.reminders),
  setReminder: (eventId, choice) => invoke(Channel.setReminder, eventId, choice),
  hideCalendars: (ids) => invoke(Channel.hideCalendars, ids),
  onOpenEvent: (listener) => listen<OpenTarget>(Channel.openEvent, listener),
};

contextBridge.exposeInMainWorld('lanScheduler', bridge);
