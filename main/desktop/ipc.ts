// Shared by the main process, the preload and the tests. The preload bundles this file into its
// single sandboxed CommonJS file, so it must stay free of Node imports.
import { calendarNameProblem } from '../checks.js';

/** Every IPC channel between the window and the main process. */
export const Channel = {
  connection: 'lan-scheduler:connection',
  state: 'lan-scheduler:state',
  stateChanged: 'lan-scheduler:state-changed',
  createCalendar: 'lan-scheduler:create-calendar',
  joinCalendar: 'lan-scheduler:join-calendar',
  joinInvite: 'lan-scheduler:join-invite',
  copyInvite: 'lan-scheduler:copy-invite',
  leave: 'lan-scheduler:leave',
  reminders: 'lan-scheduler:reminders',
  setReminder: 'lan-scheduler:set-reminder',
  hideCalendars: 'lan-scheduler:hide-calendars',
  openEvent: 'lan-scheduler:open-event',
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** What the status area says about this desk. */
export type DeskStatus = 'lobby' | 'starting' | 'hosting' | 'connecting' | 'connected' | 'taking-over' | 'offline' | 'leaving';

export type { DeskInfo, Presence } from '../peer/presence.js';
import type { DeskInfo } from '../peer/presence.js';

/** What the window knows about its desk. Never holds the join key or the token. */
export interface DesktopState {
  /** null on first run (or after leaving): the window shows the create-or-join screen. */
  calendar: { id: string; name: string } | null;
  status: DeskStatus;
  /** The hosting desk this one follows, while connecting or connected. */
  host: DeskInfo | null;
  /** Who is online: this desk first. */
  desks: DeskInfo[];
  /** Calendars found on the LAN that this desk could join with their key. */
  found: { id: string; name: string }[];
  /** Things the person should know, in words: a clock that is off, a key that changed, a desk to update. */
  notices: string[];
}

/** What "Remind me" offers, in minutes before the start. */
export const REMIND_MINUTES = [5, 10, 15, 30, 60, 1440] as const;

/** Minutes before the start, or "none": chosen on purpose, it also silences a calendar's default. */
export type Choice = number | 'none';

export const isChoice = (value: unknown): value is Choice => value === 'none' || REMIND_MINUTES.includes(value as never);

/** How a choice reads in the editor and in the Reminders dialog. */
export function choiceLabel(choice: Choice): string {
  if (choice === 'none') return 'None';
  if (choice === 1440) return '1 day before';
  if (choice === 60) return '1 hour before';
  return `${choice} minutes before`;
}

/** The event a reminder's notification opens: a record, or the occurrence of a series starting at `start`. */
export interface OpenTarget {
  eventId: string;
  series: boolean;
  /** Wall-clock start in the calendar's zone ("2026-05-04 10:00"). */
  start: string;
}

/** What the window knows of this desk's reminders. */
export interface ReminderState {
  /** This person's "Remind me" choices, by event (or series) id. */
  choices: Record<string, Choice>;
  /** An event a notification asked to open before the page was there to open it. */
  open: OpenTarget | null;
}

/** What the preload adds to the bridge for reminders (the desk shows them; the page only chooses). */
export interface ReminderBridge {
  reminders(): Promise<ReminderState>;
  /** null: no choice of its own (the calendar's default applies). */
  setReminder(eventId: string, choice: Choice | null): Promise<void>;
  /** The calendars this person hides in the window: their defaults do not remind. */
  hideCalendars(ids: string[]): Promise<void>;
  onOpenEvent(listener: (target: OpenTarget) => void): () => void;
}

/** How an IPC answer travels: Electron would prefix a thrown error's message with its own text. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): IpcResult<T> => ({ ok: true, value });
export const failed = (error: string): IpcResult<never> => ({ ok: false, error });

/** The preload's side: the value, or an Error with the main process's message. */
export function unwrap<T>(result: IpcResult<T>): T {
  if (result && result.ok === true) return result.value;
  throw new Error(result && result.ok === false ? result.error : 'no answer from the desktop app');
}

/** A bad argument from the window: its message is meant for the person who typed it. */
export class IpcArgumentError extends TypeError {}

/** A calendar name as people type it: trimmed, 1–80 characters, no control characters. */
export function checkCalendarName(value: unknown): string {
  if (typeof value !== 'string') throw new IpcArgumentError('the calendar name must be text');
  const name = value.trim();
  const problem = calendarNameProblem(name);
  if (problem) throw new IpcArgumentError(problem);
  return name;
}

/** A join key as typed: its shape only (whether it is one this app made is checked by the desk). */
export function checkJoinKey(value: unknown): string {
  if (typeof value !== 'string') throw new IpcArgumentError('the key must be text');
  const key = value.trim();
  if (!/^[A-Za-z0-9_-]{8,200}$/.test(key)) {
    throw new IpcArgumentError('That is not a calendar key: a key is the 24 letters, digits, "-" and "_" from an invite.');
  }
  return key;
}

/** What a person pasted to join: a whole invite or a key (bounded; its content is read by the desk). */
export function checkInviteText(value: unknown): string {
  if (typeof value !== 'string') throw new IpcArgumentError('the invite must be text');
  const text = value.trim();
  if (text.length === 0) throw new IpcArgumentError('Paste the invite (or the key) a colleague sent you.');
  if (text.length > 10_000) throw new IpcArgumentError('That is far longer than an invite.');
  return text;
}

/** A calendar id as desks announce it: lowercase hex. */
export function checkCalendarId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{8,64}$/.test(value)) throw new IpcArgumentError('unknown calendar');
  return value;
}

/** Checks that a call carries exactly the arguments a channel takes, and nothing else. */
export function checkArity(args: readonly unknown[], count: number): void {
  if (args.length !== count) throw new IpcArgumentError(`expected ${count} argument${count === 1 ? '' : 's'}, got ${args.length}`);
}

/**
 * Whether a frame is one of ours: its URL is on the origin the window was given (the desk's
 * own server on 127.0.0.1). Anything else (a page that got navigated to, a frame of another
 * origin, `file:`, `about:blank`, `data:`) may not call the desk.
 */
export function isOwnFrame(frameUrl: string | null | undefined, appOrigin: string | null | undefined): boolean {
  if (!frameUrl || !appOrigin) return false;
  let url: URL;
  let app: URL;
  try {
    url = new URL(frameUrl);
    app = new URL(appOrigin);
  } catch {
    return false;
  }
  // `URL.origin` is the string "null" for opaque origins: never equal to ours, but be explicit.
  if (url.protocol !== 'http:' || app.protocol !== 'http:' || url.origin === 'null') return false;
  return url.origin === app.origin && !url.username && !url.password;
}

const RECORD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** An event or calendar id as the store keeps them. */
function checkRecordId(value: unknown, what = 'event'): string {
  if (typeof value !== 'string' || !RECORD_ID.test(value)) throw new IpcArgumentError(`unknown ${what}`);
  return value;
}

/** A "Remind me" choice, or null for none of its own. */
function checkChoice(value: unknown): Choice | null {
  if (value === null || isChoice(value)) return value;
  throw new IpcArgumentError(`a reminder is one of ${REMIND_MINUTES.join(', ')} minutes, "none" or null`);
}

/** Calendar ids, as many as an office has (bounded). */
function checkCalendarIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 1000) throw new IpcArgumentError('expected a list of up to 1000 calendar ids');
  return value.map((id) => checkRecordId(id, 'calendar'));
}

/** The channels the window invokes (state changes and events to open travel the other way). */
export type InvokeChannel = Exclude<Channel, typeof Channel.stateChanged | typeof Channel.openEvent>;

const none = (args: readonly unknown[]): [] => (checkArity(args, 0), []);

/**
 * The checked arguments of every channel the window may invoke: the main process runs the
 * matching entry on what arrives, and hands only its result to the desk.
 */
export const ipcArguments = {
  [Channel.connection]: none,
  [Channel.state]: none,
  [Channel.copyInvite]: none,
  [Channel.leave]: none,
  [Channel.reminders]: none,
  [Channel.setReminder]: (args: readonly unknown[]): [eventId: string, choice: Choice | null] => (
    checkArity(args, 2), [checkRecordId(args[0]), checkChoice(args[1])]
  ),
  [Channel.hideCalendars]: (args: readonly unknown[]): [ids: string[]] => (checkArity(args, 1), [checkCalendarIds(args[0])]),
  [Channel.joinInvite]: (args: readonly unknown[]): [text: string] => (checkArity(args, 1), [checkInviteText(args[0])]),
  [Channel.createCalendar]: (args: readonly unknown[]): [name: string] => (checkArity(args, 1), [checkCalendarName(args[0])]),
  [Channel.joinCalendar]: (args: readonly unknown[]): [calendarId: string, joinKey: string] => (
    checkArity(args, 2), [checkCalendarId(args[0]), checkJoinKey(args[1])]
  ),
} satisfies Record<InvokeChannel, (args: readonly unknown[]) => unknown[]>;
