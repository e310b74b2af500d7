import type { DeskPeer } from '../../main/desktop/desktop.js';
import type { Lobby } from '../../main/desktop/lobby.js';
import type { CalendarHint } from '../../main/peer/probe.js';
import type { CalendarConfig, PeerRuntimeOptions, PeerState, RoleEvent } from '../../main/peer/runtime.js';
import { calendarSecrets } from '../../main/trust/keys.js';

// Stand-ins for the peer runtime and the lobby, for the desktop controller's tests: no mDNS,
// no sockets, no Electron. The runtime itself is tested for real (lan.test.ts, trust.test.ts).

export type FakePeer = DeskPeer & {
  options: PeerRuntimeOptions;
  set(next: Partial<PeerState>): void;
  role(event: RoleEvent): void;
  closes: number;
  keyChanges: number;
};

export const DESK_ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

export function fakePeer(options: PeerRuntimeOptions): FakePeer {
  let calendar: CalendarConfig = options.calendar;
  let state: PeerState = {
    role: 'starting',
    deskId: DESK_ID,
    name: options.deskName,
    calendar: { id: calendar.id, name: calendar.name },
    host: null,
    desks: [{ deskId: DESK_ID, name: options.deskName, role: 'starting', self: true }],
    otherCalendars: [],
    outdated: [],
    clockSkewMs: null,
    keyChanged: false,
    fingerprint: 'AB:CD',
    storage: { state: 'ok' },
    lostEdits: [],
  };
  const listeners = new Set<(s: PeerState) => void>();
  const peer: FakePeer = {
    options,
    port: options.port || 45678,
    closes: 0,
    keyChanges: 0,
    certificate: { fingerprint: 'AB:CD:EF' },
    calendar: () => calendar,
    browserToken: () => calendarSecrets(calendar.joinKey).browserToken,
    inviteTargets: () => [
      ...(state.host ? [{ deskId: state.host.deskId, addresses: [state.host.address], deskPort: 3211 }] : []),
      { deskId: DESK_ID, addresses: ['192.168.1.20'], deskPort: 3211 },
    ],
    async changeKey() {
      peer.keyChanges++;
      calendar = { ...calendar, joinKey: 'cHqRDp6nm3Zf1KJuRlvGwtwk', keyGen: calendar.keyGen + 1 };
      await options.saveCalendar(calendar);
      return calendar;
    },
    state: () => state,
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next) {
      state = { ...state, ...next };
      for (const l of listeners) l(state);
    },
    role: (event) => options.onRole?.(event),
    async close() {
      peer.closes++;
      state = { ...state, role: 'leaving' };
    },
  };
  return peer;
}

export function fakeLobby(found: { id: string; name: string }[]) {
  const listeners = new Set<() => void>();
  const lobby: Lobby & { closes: number; found: typeof found; changed(): void } = {
    origin: `http://127.0.0.1:${40000 + Math.floor(Math.random() * 1000)}`,
    closes: 0,
    found,
    calendars: () => lobby.found,
    hints: (calendarId?: string): CalendarHint[] =>
      lobby.found
        .filter((c) => calendarId === undefined || c.id === calendarId)
        .map((c) => ({ calendarId: c.id, calendarName: c.name, target: { deskId: DESK_ID.replace(/a/g, 'b'), addresses: ['192.168.1.30'], deskPort: 3211 } })),
    onChange(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    changed: () => listeners.forEach((l) => l()),
    async close() {
      lobby.closes++;
    },
  };
  return lobby;
}

/** A desk of the calendar as the host lists it. */
export const listed = (deskId: string, name: string, role: 'host' | 'peer' | 'leaving'): PeerState['desks'][number] => ({ deskId, name, role, self: false });
