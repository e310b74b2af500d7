import type { Desktop } from './desktop.js';
import { Channel, type OpenTarget } from './ipc.js';
import type { IpcHandlers } from './ipcServe.js';
import type { DeskReminders } from './reminders.js';

export interface DeskIpcOptions {
  desktop: Desktop;
  reminders: DeskReminders;
  clipboard: { writeText(text: string): void };
  /** The event a notification asked to open, handed to the page once (then null). */
  takeOpen(): OpenTarget | null;
}

/** What each channel the desk's page invokes does, once serveIpc has checked the caller and the arguments. */
export function deskIpcHandlers({ desktop, reminders, clipboard, takeOpen }: DeskIpcOptions): IpcHandlers {
  return {
    [Channel.connection]: () => desktop.connection(),
    [Channel.state]: () => desktop.state(),
    [Channel.createCalendar]: (name) => desktop.createCalendar(name),
    [Channel.joinCalendar]: (calendarId, joinKey) => desktop.joinCalendar(calendarId, joinKey),
    [Channel.joinInvite]: (text) => desktop.joinInvite(text),
    [Channel.copyInvite]: () => clipboard.writeText(desktop.invite()),
    [Channel.leave]: () => desktop.leave(),
    [Channel.reminders]: async () => {
      const open = takeOpen();
      return { choices: await reminders.choices(), open };
    },
    [Channel.setReminder]: (eventId, choice) => reminders.setChoice(eventId, choice),
    [Channel.hideCalendars]: (ids) => reminders.setHidden(ids),
  };
}
