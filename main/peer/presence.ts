import type { Role } from './discovery.js';

/** The live entity a desk publishes its presence on, for its own pages and browsers. */
const PRESENCE_ENTITY = 'presence';

/** A desk of the calendar, as the status area and the presence entity show it. */
export interface DeskInfo {
  deskId: string;
  /** A human name: the person (or computer) the desk said it belongs to when it proved the key. */
  name: string;
  role: Role;
  self: boolean;
}

/** The value of the `presence` live entity: `{type: 'update-presence', value: Presence}`. */
export interface Presence {
  desks: DeskInfo[];
}

/** The parts of a peer runtime that presence reads and publishes on. */
export interface PresenceSource {
  state(): PresenceState;
  onState(listener: (state: PresenceState) => void): () => void;
  server: { publish(name: string, value: unknown, options?: { retain?: boolean }): number };
}
export interface PresenceState {
  deskId: string;
  role: Role;
  /** The calendar's desks with the names they gave when they proved the key: this desk first. */
  desks: { deskId: string; name: string; role: Role; self: boolean }[];
}

/**
 * Who is online, from the desks the host lists over the desks' own (proven, encrypted) channels:
 * this desk first, then the host, then by name. Names never travel over mDNS.
 */
export function desksOf(state: PresenceState, selfName: string): DeskInfo[] {
  const others = state.desks
    .filter((d) => d.role !== 'leaving' && d.deskId !== state.deskId)
    .map((d): DeskInfo => ({ deskId: d.deskId, name: d.name || `Desk ${d.deskId.slice(0, 6)}`, role: d.role, self: false }))
    .sort((a, b) => Number(b.role === 'host') - Number(a.role === 'host') || a.name.localeCompare(b.name));
  return [{ deskId: state.deskId, name: selfName, role: state.role, self: true }, ...others];
}

/**
 * Publishes who is online on the desk's own live server whenever it changes, as
 * `{type: 'update-presence', value: {desks}}`, for its own pages (and browsers on it).
 */
export function startPresence(source: PresenceSource, selfName: string) {
  let desks: DeskInfo[] = [];
  let published = '';
  const update = (state: PresenceState) => {
    desks = desksOf(state, selfName);
    const json = JSON.stringify(desks);
    if (json === published) return;
    published = json;
    const value: Presence = { desks };
    // Retained: a page that opens later gets the current list as soon as it subscribes.
    source.server.publish(PRESENCE_ENTITY, { type: 'update-presence', value }, { retain: true });
  };
  update(source.state());
  const off = source.onState(update);
  return {
    desks: () => desks,
    close: () => void off(),
  };
}
