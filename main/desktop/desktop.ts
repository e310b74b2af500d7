import { loadDesk, reachableHost, saveDesk } from '../hostFiles.js';
import type { Logger } from '../log.js';
import type { Target } from '../peer/context.js';
import type { CalendarHint, KeyTrial } from '../peer/probe.js';
import type { CalendarConfig, PeerRuntimeOptions } from '../peer/runtime.js';
import { browserLink, formatDeskInvite, inviteText } from '../trust/invite.js';
import { newCalendarId, newJoinKey } from '../trust/keys.js';
import { calendarDir, startDeskPeer, type DeskPeer } from './deskPeer.js';
import { hasNetwork, noticesOf, statusOf } from './deskState.js';
import { IpcArgumentError, type DeskStatus, type DesktopState } from './ipc.js';
import { calendarForKey, isDeskInvite, pastedInvite } from './joining.js';
import type { Lobby } from './lobby.js';
import { desksOf } from '../peer/presence.js';

export type { DeskPeer };

export interface DesktopOptions {
  /** Where desk.json, this desk's key and certificate, and one folder per calendar live (inside Electron's userData). */
  dataDir: string;
  pageDir: string;
  log: Logger;
  /** Who uses this desk: how colleagues see it in "who is online" (inside the calendar only). */
  person: string;
  /** The port browsers reach this desk on (desks use the next one); other ports are taken if these are in use. */
  port?: number;
  bind?: string;
  startPeer(options: PeerRuntimeOptions): Promise<DeskPeer>;
  startLobby(): Promise<Lobby>;
  /** Which calendar a key opens, by asking the desks in `hints` to take its proof. */
  tryKey(joinKey: string, hints: CalendarHint[]): Promise<KeyTrial>;
  /** Whether this computer has a network besides loopback. */
  online?(): boolean;
  /** This desk's address on the LAN, for invites. */
  lanAddress?(): string;
  /** The most a host's hand-over to its successor may take when it leaves or quits. */
  handoverMs?: number;
}

type Mode =
  | { kind: 'none' }
  | { kind: 'lobby'; lobby: Lobby; off(): void }
  | { kind: 'peer'; peer: DeskPeer; off(): void };

/** What the mode switches share: the options, the mode the desk is in, and who hears of changes. */
interface Desk {
  readonly options: DesktopOptions & { port: number };
  mode: Mode;
  leaving: boolean;
  /** The host this desk last joined, and whether it was then lost: for the status in the top bar. */
  joinedHost: string | null;
  hostLost: boolean;
  closing: Promise<void> | null;
  /** The last switch asked for: the next one starts when it has finished. */
  queue: Promise<unknown>;
  readonly stateListeners: Set<(state: DesktopState) => void>;
  readonly originListeners: Set<(origin: string) => void>;
}

function status({ mode, options, leaving, joinedHost, hostLost }: Desk): DeskStatus {
  if (mode.kind !== 'peer') return mode.kind === 'lobby' ? 'lobby' : 'starting';
  return statusOf(mode.peer.state(), { leaving, online: (options.online ?? hasNetwork)(), joinedHost, hostLost });
}

/** What the window shows of the desk in `mode`. */
function stateOf(mode: Mode, status: DeskStatus, person: string): DesktopState {
  if (mode.kind !== 'peer') {
    return { calendar: null, status, host: null, desks: [], found: mode.kind === 'lobby' ? mode.lobby.calendars() : [], notices: [] };
  }
  const s = mode.peer.state();
  return {
    calendar: s.calendar,
    status,
    host: s.host && { deskId: s.host.deskId, name: s.host.name, role: 'host', self: false },
    desks: desksOf(s, person),
    found: s.otherCalendars,
    notices: noticesOf(s),
  };
}

const originOf = (mode: Mode): string | null =>
  mode.kind === 'lobby' ? mode.lobby.origin : mode.kind === 'peer' ? `http://127.0.0.1:${mode.peer.port}` : null;

function peerOf(mode: Mode): DeskPeer {
  if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
  return mode.peer;
}

function inviteOf(mode: Mode, lanAddress: () => string): string {
  const peer = peerOf(mode);
  const calendar = peer.calendar();
  return inviteText({
    calendarName: calendar.name,
    deskInvite: formatDeskInvite({ calendar, desks: peer.inviteTargets() }),
    browserLink: browserLink(lanAddress(), peer.port, peer.browserToken()),
    fingerprint: peer.certificate.fingerprint,
  });
}

function emit(d: Desk) {
  if (d.closing) return;
  const now = stateOf(d.mode, status(d), d.options.person);
  for (const l of d.stateListeners) l(now);
}

/** The window loads the page again: another origin, or the same one with a new token. */
function reload(d: Desk) {
  const origin = originOf(d.mode);
  if (origin) for (const l of d.originListeners) l(origin);
  emit(d);
}

// One switch at a time: a second click waits for the first to finish, then sees the new mode.
function serial<T>(d: Desk, run: () => Promise<T>): Promise<T> {
  const next = d.queue.then(() => {
    if (d.closing) throw new Error('LAN Scheduler is quitting');
    return run();
  });
  d.queue = next.catch(() => {});
  return next;
}

const saveCalendar = (d: Desk, calendar: CalendarConfig | null) => saveDesk(d.options.dataDir, { version: 2, calendar });

async function enterLobby(d: Desk) {
  const lobby = await d.options.startLobby();
  d.mode = { kind: 'lobby', lobby, off: lobby.onChange(() => emit(d)) };
}

/** Starts the desk on `calendar` while the current mode still runs, so a failure changes nothing; then closes the lobby. */
async function enterCalendar(d: Desk, calendar: CalendarConfig, invite?: Target[]) {
  d.joinedHost = null;
  d.hostLost = false;
  const peer = await startDeskPeer({
    ...d.options,
    onRole: (event) => {
      d.joinedHost = event.kind === 'joined' ? event.host.deskId : null;
      d.hostLost = event.kind === 'host-lost';
      emit(d);
    },
    // A key change saves the new key where the desk keeps it, and the window reloads with the new token.
    saveCalendar: async (next) => {
      await saveCalendar(d, next);
      setImmediate(() => reload(d));
    },
  }, calendar, invite);
  const previous = d.mode;
  await saveCalendar(d, peer.calendar());
  d.mode = { kind: 'peer', peer, off: peer.onState(() => emit(d)) };
  if (previous.kind === 'lobby') {
    previous.off();
    await previous.lobby.close().catch((err) => d.options.log.warn(`closing the lobby: ${(err as Error).message}`));
  }
}

/** Leaves the calendar (a host hands over first) for the lobby; the desk's copy stays on disk. */
async function leave(d: Desk) {
  if (d.mode.kind !== 'peer') return;
  const { peer, off } = d.mode;
  d.leaving = true;
  emit(d);
  off();
  await peer.close().catch((err) => d.options.log.error(`leaving the calendar: ${(err as Error).message}`));
  d.leaving = false;
  await saveCalendar(d, null);
  d.mode = { kind: 'none' };
  await enterLobby(d);
  reload(d);
}

/** After the switch in progress: no more listeners, then the peer or the lobby closes. */
function close(d: Desk): Promise<void> {
  d.closing ??= d.queue.then(async () => {
    d.stateListeners.clear();
    d.originListeners.clear();
    const current = d.mode;
    d.mode = { kind: 'none' };
    if (current.kind !== 'none') current.off();
    if (current.kind === 'peer') await current.peer.close();
    if (current.kind === 'lobby') await current.lobby.close();
  });
  return d.closing;
}

const inLobby = (d: Desk) => {
  if (d.mode.kind !== 'lobby') throw new IpcArgumentError('This desk already has a calendar: leave it first.');
  return d.mode.lobby;
};

/** Joins the calendar `joinKey` opens among the lobby's hints; `calendarId` when the person picked one. */
const joinWithKey = async (d: Desk, lobby: Lobby, joinKey: string, calendarId?: string) =>
  enterCalendar(d, await calendarForKey(d.options.tryKey, lobby, joinKey, calendarId));

/**
 * The desktop app without Electron: the desk is either in the lobby (no calendar yet: the page
 * from a static server, calendars found on the LAN) or a desk of one calendar. Creating, joining
 * and leaving switch between the two, one at a time; the window follows `origin`.
 */
export function createDesktop(options: DesktopOptions) {
  const lanAddress = options.lanAddress ?? (() => reachableHost('0.0.0.0'));
  const d: Desk = {
    options: { ...options, port: options.port ?? 3210 },
    mode: { kind: 'none' },
    leaving: false,
    joinedHost: null,
    hostLost: false,
    closing: null,
    queue: Promise.resolve(),
    stateListeners: new Set(),
    originListeners: new Set(),
  };
  /** Switches the mode with `run`, then has the window load the page again. */
  const switchTo = (run: () => Promise<unknown>) =>
    serial(d, async () => {
      await run();
      reload(d);
    });

  return {
    /** Opens the calendar this desk belongs to, or the lobby on first run. */
    start: () =>
      switchTo(async () => {
        const kept = await loadDesk(options.dataDir);
        if (kept.upgraded) {
          options.log.info('carried over this desk’s calendar from the previous version');
          await saveCalendar(d, kept.calendar);
        }
        await (kept.calendar ? enterCalendar(d, kept.calendar) : enterLobby(d));
      }),

    state: (): DesktopState => stateOf(d.mode, status(d), options.person),

    onState(listener: (state: DesktopState) => void): () => void {
      d.stateListeners.add(listener);
      return () => void d.stateListeners.delete(listener);
    },

    /** Where the window loads the page from: the lobby, or this desk's own server (null while switching). */
    origin: (): string | null => originOf(d.mode),

    /** Called whenever the window must load the page again (another origin, or a new token). */
    onOrigin(listener: (origin: string) => void): () => void {
      d.originListeners.add(listener);
      return () => void d.originListeners.delete(listener);
    },

    /** The calendar this desk is in and its store (null in the lobby, or with a stand-in runtime). */
    calendarStore() {
      if (d.mode.kind !== 'peer' || !d.mode.peer.store) return null;
      return { calendarId: d.mode.peer.calendar().id, dir: calendarDir(options.dataDir, d.mode.peer.calendar().id), store: d.mode.peer.store };
    },

    /** What must never reach a log or the diagnostics: the key and the browser token. */
    secrets: (): string[] => (d.mode.kind === 'peer' ? [d.mode.peer.calendar().joinKey, d.mode.peer.browserToken()] : []),

    connection(): { baseUrl: string; token: string } {
      const peer = peerOf(d.mode);
      return { baseUrl: `http://127.0.0.1:${peer.port}`, token: peer.browserToken() };
    },

    /** A new calendar for this office, with a new key; this desk hosts it. Takes a checked name. */
    createCalendar: (name: string) =>
      switchTo(async () => {
        inLobby(d);
        await enterCalendar(d, { id: newCalendarId(), name, joinKey: newJoinKey(), keyGen: 0 });
      }),

    /** Joins a calendar found on the LAN with its key: the key must open that calendar (its desks check). */
    joinCalendar: (calendarId: string, joinKey: string) => switchTo(() => joinWithKey(d, inLobby(d), joinKey, calendarId)),

    /**
     * Joins with what a colleague sent: a whole invite (the calendar, its key and where its desks
     * are: works where multicast does not), or only a key (the desks found on the LAN are asked).
     */
    joinInvite: (text: string) =>
      switchTo(async () => {
        const lobby = inLobby(d);
        if (!isDeskInvite(text)) return joinWithKey(d, lobby, text.trim());
        const invite = pastedInvite(text);
        await enterCalendar(d, invite.calendar, invite.desks);
      }),

    /** What a colleague needs: the desk invite, and a link (with the fingerprint to check) for a browser. */
    invite: (): string => inviteOf(d.mode, lanAddress),

    /** A new key for everyone connected now: earlier invites stop working, for desks and browsers alike. */
    changeKey: () => serial(d, async () => void (await peerOf(d.mode).changeKey())),

    /** Leaves the calendar (a host hands over first); the desk's copy stays on disk. */
    leave: () => serial(d, () => leave(d)),

    /** Hands over hosting, says goodbye on the LAN and flushes the store. Safe to call twice. */
    close: () => close(d),
  };
}

export type Desktop = ReturnType<typeof createDesktop>;
