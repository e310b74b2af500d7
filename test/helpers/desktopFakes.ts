import type { DeskPeer } from '../../main/desktop/desktop.js';
import type { Lobby } from '../../main/desktop/lobby.js';
import type { SeenPeer } from '../../main/peer/discovery.js';
import { calendarIdentity } from '../../main/peer/identity.js';
import type { PeerRuntimeOptions, PeerState, RoleEvent } from '../../main/peer/runtime.js';

// Stand-ins for the peer runtime and the lobby, for the desktop controller's tests: no mDNS,
// no sockets, no Electron.

export type FakePeer = DeskPeer & {
  options: PeerRuntimeOptions;
  set(next: Partial<PeerState>): void;
  role(event: RoleEvent): void;
  published: { name: string; value: any }[];
  closes: number;
};

export function fakePeer(options: PeerRuntimeOptions): FakePeer {
  const identity = calendarIdentity(options.calendar.name, options.calendar.joinKey);
  let state: PeerState = {
    role: 'starting',
    peerId: options.peerId,
    calendar: { id: identity.id, name: identity.name },
    host: null,
    peers: [],
    otherCalendars: [],
  };
  const listeners = new Set<(s: PeerState) => void>();
  const peer: FakePeer = {
    options,
    identity,
    port: options.port || 45678,
    published: [],
    closes: 0,
    server: { publish: (name, value) => (peer.published.push({ name, value }), 1) },
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

export const seen = (peerId: string, role: SeenPeer['role'], over: Partial<SeenPeer> = {}): SeenPeer => ({
  calendarId: 'c0ffee00c0ffee00c0ffee00',
  calendarName: 'Office',
  peerId,
  role,
  revision: 0,
  address: '192.168.1.30',
  port: 3210,
  lastSeen: Date.now(),
  ...over,
});
