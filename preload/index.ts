// The window's only door to the desk. Bundled into one CommonJS file (a sandboxed preload can
// neither be ESM nor require our other files); `electron` stays external.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { Channel, unwrap, type DesktopState, type InvokeChannel, type IpcResult } from '../main/desktop/ipc.js';
import type { DesktopBridge } from '../renderer/connection.js';

const invoke = async <T>(channel: InvokeChannel, ...args: unknown[]): Promise<T> =>
  unwrap((await ipcRenderer.invoke(channel, ...args)) as IpcResult<T>);

// Named functions only: the page never gets ipcRenderer, an event, or a way to pick a channel.
const bridge: DesktopBridge = {
  connection: () => invoke(Channel.connection),
  state: () => invoke(Channel.state),
  onState(listener) {
    // The IpcRendererEvent carries `sender` (ipcRenderer itself): the page gets the state only.
    const forward = (_event: IpcRendererEvent, state: DesktopState) => listener(state);
    ipcRenderer.on(Channel.stateChanged, forward);
    return () => void ipcRenderer.removeListener(Channel.stateChanged, forward);
  },
  createCalendar: (name) => invoke(Channel.createCalendar, name),
  joinCalendar: (calendarId, joinKey) => invoke(Channel.joinCalendar, calendarId, joinKey),
  joinInvite: (text) => invoke(Channel.joinInvite, text),
  copyInvite: () => invoke(Channel.copyInvite),
  leave: () => invoke(Channel.leave),
};

contextBridge.exposeInMainWorld('lanScheduler', bridge);
