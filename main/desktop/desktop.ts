import { loadDesk, reachableHost, saveDesk, type DeskFile } from '../hostFiles.js';
import type { Logger } from '../log.js';
import type { Target } from '../peer/context.js';
import type { CalendarHint, KeyTrial } from '../peer/probe.js';
import type { CalendarConfig, PeerRuntimeOptions, RoleEvent } from '../peer/runtime.js';
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

/**
 * The desktop app without Electron: the desk is either in the lobby (no calendar yet: the page
 * from a static server, calendars found on the LAN) or a desk of one calendar. Creating, joining
 * and leaving switch between the two, one at a time; the window follows `origin`.
 */
export function createDesktop(options: DesktopOptions) {
  const { dataDir, log, person } = options;
  const port = options.port ?? 3210;
  const online = options.online ?? hasNetwork;
  const lanAddress = options.lanAddress ?? (() => reachableHost('0.0.0.0'));
  let desk: DeskFile = { version: 2, calendar: null };
  let mode: Mode = { kind: 'none' };
  let leaving = false;
  let joinedHost: string | null = null;
  let hostLost = false;
  let closing: Promise<void> | null = null;
  const stateListeners = new Set<(state: DesktopState) => void>();
  const originListeners = new Set<(origin: string) => void>();

  const emit = () => {
    if (closing) return;
    const now = desktop.state();
    for (const l of stateListeners) l(now);
  };
  /** The window loads the page again: another origin, or the same one with a new token. */
  const reload = () => {
    const origin = desktop.origin();
    if (origin) for (const l of originListeners) l(origin);
    emit();
  };

  // One switch at a time: a second click waits for the first to finish, then sees the new mode.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(() => {
      if (closing) throw new Error('LAN Scheduler is quitting');
      return run();
    });
    queue = next.catch(() => {});
    return next;
  };

  const onRole = (event: RoleEvent) => {
    joinedHost = event.kind === 'joined' ? event.host.deskId : null;
    hostLost = event.kind === 'host-lost';
    emit();
  };

  const enterLobby = async () => {
    const lobby = await options.startLobby();
    mode = { kind: 'lobby', lobby, off: lobby.onChange(emit) };
  };

  const saveCalendar = async (calendar: CalendarConfig | null) => {
    desk = { version: 2, calendar };
    await saveDesk(dataDir, desk);
  };

  /** Starts the desk on `calendar` while the current mode still runs, so a failure changes nothing. */
  const startCalendar = (calendar: CalendarConfig, invite?: Target[]) => {
    joinedHost = null;
    hostLost = false;
    return startDeskPeer(
      {
        ...options,
        port,
        onRole,
        // A key change saves the new key where the desk keeps it, and the window reloads with the new token.
        saveCalendar: async (next) => {
          await saveCalendar(next);
          setImmediate(reload);
        },
      },
      calendar,
      invite,
    );
  };

  const enterCalendar = async (calendar: CalendarConfig, invite?: Target[]) => {
    const peer = await startCalendar(calendar, invite);
    const previous = mode;
    await saveCalendar(peer.calendar());
    mode = { kind: 'peer', peer, off: peer.onState(emit) };
    if (previous.kind === 'lobby') {
      previous.off();
      await previous.lobby.close().catch((err) => log.warn(`closing the lobby: ${(err as Error).message}`));
    }
  };

  const inLobby = () => {
    if (mode.kind !== 'lobby') throw new IpcArgumentError('This desk already has a calendar: leave it first.');
    return mode.lobby;
  };

  /** Joins the calendar `joinKey` opens among the lobby's hints; `calendarId` when the person picked one. */
  const joinWithKey = async (lobby: Lobby, joinKey: string, calendarId?: string) =>
    enterCalendar(await calendarForKey(options.tryKey, lobby, joinKey, calendarId));

  const status = (): DeskStatus =>
    mode.kind === 'peer' ? statusOf(mode.peer.state(), { leaving, online: online(), joinedHost, hostLost }) : mode.kind === 'lobby' ? 'lobby' : 'starting';

  const desktop = {
    /** Opens the calendar this desk belongs to, or the lobby on first run. */
    start: () =>
      serial(async () => {
        const kept = await loadDesk(dataDir);
        desk = kept;
        if (kept.upgraded) {
          log.info('carried over this desk’s calendar from the previous version');
          await saveCalendar(kept.calendar);
        }
        await (desk.calendar ? enterCalendar(desk.calendar) : enterLobby());
        reload();
      }),

    state(): DesktopState {
      if (mode.kind !== 'peer') {
        return { calendar: null, status: status(), host: null, desks: [], found: mode.kind === 'lobby' ? mode.lobby.calendars() : [], notices: [] };
      }
      const s = mode.peer.state();
      return {
        calendar: s.calendar,
        status: status(),
        host: s.host && { deskId: s.host.deskId, name: s.host.name, role: 'host', self: false },
        desks: desksOf(s, person),
        found: s.otherCalendars,
        notices: noticesOf(s),
      };
    },

    onState(listener: (state: DesktopState) => void): () => void {
      stateListeners.add(listener);
      return () => void stateListeners.delete(listener);
    },

    /** Where the window loads the page from: the lobby, or this desk's own server (null while switching). */
    origin(): string | null {
      if (mode.kind === 'lobby') return mode.lobby.origin;
      if (mode.kind === 'peer') return `http://127.0.0.1:${mode.peer.port}`;
      return null;
    },

    /** Called whenever the window must load the page again (another origin, or a new token). */
    onOrigin(listener: (origin: string) => void): () => void {
      originListeners.add(listener);
      return () => void originListeners.delete(listener);
    },

    /** The calendar this desk is in and its store (null in the lobby, or with a stand-in runtime). */
    calendarStore() {
      if (mode.kind !== 'peer' || !mode.peer.store) return null;
      return { calendarId: mode.peer.calendar().id, dir: calendarDir(dataDir, mode.peer.calendar().id), store: mode.peer.store };
    },

    /** What must never reach a log or the diagnostics: the key and the browser token. */
    secrets(): string[] {
      return mode.kind === 'peer' ? [mode.peer.calendar().joinKey, mode.peer.browserToken()] : [];
    },

    connection(): { baseUrl: string; token: string } {
      if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
      return { baseUrl: `http://127.0.0.1:${mode.peer.port}`, token: mode.peer.browserToken() };
    },

    /** A new calendar for this office, with a new key; this desk hosts it. Takes a checked name. */
    createCalendar: (name: string) =>
      serial(async () => {
        inLobby();
        await enterCalendar({ id: newCalendarId(), name, joinKey: newJoinKey(), keyGen: 0 });
        reload();
      }),

    /** Joins a calendar found on the LAN with its key: the key must open that calendar (its desks check). */
    joinCalendar: (calendarId: string, joinKey: string) =>
      serial(async () => {
        await joinWithKey(inLobby(), joinKey, calendarId);
        reload();
      }),

    /**
     * Joins with what a colleague sent: a whole invite (the calendar, its key and where its desks
     * are: works where multicast does not), or only a key (the desks found on the LAN are asked).
     */
    joinInvite: (text: string) =>
      serial(async () => {
        const lobby = inLobby();
        if (isDeskInvite(text)) {
          const invite = pastedInvite(text);
          await enterCalendar(invite.calendar, invite.desks);
        } else {
          await joinWithKey(lobby, text.trim());
        }
        reload();
      }),

    /** What a colleague needs: the desk invite, and a link (with the fingerprint to check) for a browser. */
    invite(): string {
      if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
      const { peer } = mode;
      const calendar = peer.calendar();
      return inviteText({
        calendarName: calendar.name,
        deskInvite: formatDeskInvite({ calendar, desks: peer.inviteTargets() }),
        browserLink: browserLink(lanAddress(), peer.port, peer.browserToken()),
        fingerprint: peer.certificate.fingerprint,
      });
    },

    /** A new key for everyone connected now: earlier invites stop working, for desks and browsers alike. */
    changeKey: () =>
      serial(async () => {
        if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
        await mode.peer.changeKey();
      }),

    /** Leaves the calendar (a host hands over first); the desk's copy stays on disk. */
    leave: () =>
      serial(async () => {
        if (mode.kind !== 'peer') return;
        const { peer, off } = mode;
        leaving = true;
        emit();
        off();
        await peer.close().catch((err) => log.error(`leaving the calendar: ${(err as Error).message}`));
        leaving = false;
        await saveCalendar(null);
        mode = { kind: 'none' };
        await enterLobby();
        reload();
      }),

    /** Hands over hosting, says goodbye on the LAN and flushes the store. Safe to call twice. */
    close(): Promise<void> {
      closing ??= queue.then(async () => {
        stateListeners.clear();
        originListeners.clear();
        const current = mode;
        mode = { kind: 'none' };
        if (current.kind !== 'none') current.off();
        if (current.kind === 'peer') await current.peer.close();
        if (current.kind === 'lobby') await current.lobby.close();
      });
      return closing;
    },
  };
  return desktop;
}

export type Desktop = ReturnType<typeof createDesktop>;
