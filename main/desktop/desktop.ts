import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { loadDesk, reachableHost, saveDesk, type DeskFile } from '../hostFiles.js';
import type { Logger } from '../log.js';
import { calendarIdentity, newJoinKey } from '../peer/identity.js';
import type { PeerRuntime, PeerRuntimeOptions, RoleEvent } from '../peer/runtime.js';
import { IpcArgumentError, type DeskStatus, type DesktopState } from './ipc.js';
import type { Lobby } from './lobby.js';
import { deskName, newPeerId, startPresence, type PresencePublisher } from './presence.js';

/** The parts of a peer runtime the desktop uses, so that a test can pass a stand-in. */
export type DeskPeer = Pick<PeerRuntime, 'identity' | 'port' | 'state' | 'onState' | 'close'> & {
  server: Pick<PeerRuntime['server'], 'publish'>;
};

export interface DesktopOptions {
  /** Where desk.json and one folder per calendar live (inside Electron's userData). */
  dataDir: string;
  pageDir: string;
  log: Logger;
  /** Who uses this desk: names new desk ids, and this desk in "who is online". */
  person: string;
  /** The port desks and browsers reach this desk on; another one is taken if it is in use. */
  port?: number;
  bind?: string;
  startPeer(options: PeerRuntimeOptions): Promise<DeskPeer>;
  startLobby(): Promise<Lobby>;
  /** Whether this computer has a network besides loopback. */
  online?(): boolean;
  /** This desk's address on the LAN, for invites. */
  lanAddress?(): string;
}

/** A computer with no interface but loopback is offline, whatever its desk thinks. */
export function hasNetwork(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => !a.internal));
}

type Mode =
  | { kind: 'none' }
  | { kind: 'lobby'; lobby: Lobby; off(): void }
  | { kind: 'peer'; peer: DeskPeer; calendar: { name: string; joinKey: string }; presence: PresencePublisher; off(): void };

const hostPart = (address: string) => (address.includes(':') ? `[${address}]` : address);

/**
 * The desktop app without Electron: the desk is either in the lobby (no calendar yet: the page
 * from a static server, calendars found on the LAN) or a peer of one calendar. Creating,
 * joining and leaving switch between the two, one at a time; the window follows `origin`.
 */
export function createDesktop(options: DesktopOptions) {
  const { dataDir, log, person } = options;
  const port = options.port ?? 3210;
  const online = options.online ?? hasNetwork;
  const lanAddress = options.lanAddress ?? (() => reachableHost('0.0.0.0'));
  let desk: DeskFile | null = null;
  let mode: Mode = { kind: 'none' };
  let leaving = false;
  // Follows the runtime's role events: whether the desk got through to the host it follows.
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
  const moved = () => {
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
    joinedHost = event.kind === 'joined' ? event.host.peerId : null;
    hostLost = event.kind === 'host-lost';
    emit();
  };

  const enterLobby = async () => {
    const lobby = await options.startLobby();
    mode = { kind: 'lobby', lobby, off: lobby.onChange(emit) };
  };

  /** Starts the desk on `calendar` while the current mode still runs, so a failure changes nothing. */
  const startCalendar = async (calendar: { name: string; joinKey: string }) => {
    const id = calendarIdentity(calendar.name, calendar.joinKey).id;
    const base: PeerRuntimeOptions = {
      // One folder per calendar: a desk that leaves one and joins another must not hand the
      // first calendar's events to the second one's host.
      dataDir: join(dataDir, 'calendars', id),
      peerId: desk!.peerId,
      calendar,
      port,
      bind: options.bind ?? '0.0.0.0',
      log,
      pageDir: options.pageDir,
      onRole,
    };
    joinedHost = null;
    hostLost = false;
    try {
      return await options.startPeer(base);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
      // Desks find each other's ports over mDNS; only the firewall rule and typed links want 3210.
      log.warn(`port ${port} is in use; listening on another one`);
      return options.startPeer({ ...base, port: 0 });
    }
  };

  const enterCalendar = async (calendar: { name: string; joinKey: string }) => {
    const peer = await startCalendar(calendar);
    const previous = mode;
    desk = { ...desk!, calendar };
    await saveDesk(dataDir, desk);
    const presence = startPresence(peer, person);
    mode = { kind: 'peer', peer, calendar, presence, off: peer.onState(emit) };
    if (previous.kind === 'lobby') {
      previous.off();
      await previous.lobby.close().catch((err) => log.warn(`closing the lobby: ${(err as Error).message}`));
    }
  };

  const status = (): DeskStatus => {
    if (mode.kind !== 'peer') return mode.kind === 'lobby' ? 'lobby' : 'starting';
    const s = mode.peer.state();
    if (leaving || s.role === 'leaving') return 'leaving';
    if (!online()) return 'offline';
    if (s.role === 'host') return 'hosting';
    if (s.role === 'starting') return 'starting';
    if (s.host && joinedHost === s.host.peerId) return 'connected';
    return s.host && !hostLost ? 'connecting' : 'taking-over';
  };

  const desktop = {
    /** Opens the calendar this desk belongs to, or the lobby on first run. */
    start: () =>
      serial(async () => {
        const fresh = !existsSync(join(dataDir, 'desk.json'));
        desk = await loadDesk(dataDir);
        if (fresh) {
          desk = { peerId: newPeerId(person), calendar: null };
          await saveDesk(dataDir, desk);
        }
        await (desk.calendar ? enterCalendar(desk.calendar) : enterLobby());
        moved();
      }),

    state(): DesktopState {
      if (mode.kind !== 'peer') {
        return { calendar: null, status: status(), host: null, desks: [], found: mode.kind === 'lobby' ? mode.lobby.calendars() : [] };
      }
      const s = mode.peer.state();
      return {
        calendar: s.calendar,
        status: status(),
        host: s.host && { peerId: s.host.peerId, name: deskName(s.host.peerId), role: 'host', self: false },
        desks: mode.presence.desks(),
        found: s.otherCalendars,
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

    /** Called whenever the window must load the page from a new origin. */
    onOrigin(listener: (origin: string) => void): () => void {
      originListeners.add(listener);
      return () => void originListeners.delete(listener);
    },

    connection(): { baseUrl: string; token: string } {
      if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
      return { baseUrl: `http://127.0.0.1:${mode.peer.port}`, token: mode.peer.identity.token };
    },

    /** A new calendar for this office, with a new key; this desk hosts it. Takes a checked name. */
    createCalendar: (name: string) =>
      serial(async () => {
        if (mode.kind !== 'lobby') throw new IpcArgumentError('This desk already has a calendar: leave it first.');
        await enterCalendar({ name, joinKey: newJoinKey() });
        moved();
      }),

    /** Joins a calendar found on the LAN. Takes a checked id and key; the key must open that id. */
    joinCalendar: (calendarId: string, joinKey: string) =>
      serial(async () => {
        if (mode.kind !== 'lobby') throw new IpcArgumentError('This desk already has a calendar: leave it first.');
        // The id derives from the key, so a wrong key is caught here and not by a silent host.
        if (calendarIdentity('', joinKey).id !== calendarId) {
          throw new IpcArgumentError('That key does not open this calendar. Check it with the colleague who invited you.');
        }
        const name = mode.lobby.calendars().find((c) => c.id === calendarId)?.name || 'Office';
        await enterCalendar({ name, joinKey });
        moved();
      }),

    /** What a colleague needs: the key for the desktop app, and a link for a browser. */
    invite(): string {
      if (mode.kind !== 'peer') throw new IpcArgumentError('This desk has no calendar yet.');
      const { peer, calendar } = mode;
      const where = peer.state().host ?? { address: lanAddress(), port: peer.port };
      const link = `http://${hostPart(where.address)}:${where.port}/#token=${encodeURIComponent(peer.identity.token)}`;
      return [
        `You are invited to the "${calendar.name}" calendar in LAN Scheduler.`,
        `Desktop app: under "Join a calendar on this network", pick "${calendar.name}" and enter the key: ${calendar.joinKey}`,
        `Browser on the office network: ${link}`,
      ].join('\n');
    },

    /** Leaves the calendar (a host hands over first); the desk's copy stays on disk. */
    leave: () =>
      serial(async () => {
        if (mode.kind !== 'peer') return;
        const { peer, presence, off } = mode;
        leaving = true;
        emit();
        presence.close();
        off();
        await peer.close().catch((err) => log.error(`leaving the calendar: ${(err as Error).message}`));
        leaving = false;
        desk = { ...desk!, calendar: null };
        await saveDesk(dataDir, desk);
        mode = { kind: 'none' };
        await enterLobby();
        moved();
      }),

    /** Hands over hosting, says goodbye on the LAN and flushes the store. Safe to call twice. */
    close(): Promise<void> {
      closing ??= queue.then(async () => {
        stateListeners.clear();
        originListeners.clear();
        const current = mode;
        mode = { kind: 'none' };
        if (current.kind !== 'none') current.off();
        if (current.kind === 'peer') {
          current.presence.close();
          await current.peer.close();
        }
        if (current.kind === 'lobby') await current.lobby.close();
      });
      return closing;
    },
  };
  return desktop;
}

export type Desktop = ReturnType<typeof createDesktop>;
