import { randomBytes } from 'node:crypto';
import type { DeskInfo, Presence } from './ipc.js';

/** The live entity the desk publishes its presence on. */
export const PRESENCE_ENTITY = 'presence';

type Role = DeskInfo['role'];

/** The parts of a peer runtime that presence reads and publishes on. */
export interface PresenceSource {
  state(): PresenceState;
  onState(listener: (state: PresenceState) => void): () => void;
  server: { publish(name: string, value: unknown, options?: { retain?: boolean }): number };
}
export interface PresenceState {
  peerId: string;
  role: Role;
  peers: { peerId: string; role: Role }[];
}

// A desk id the desktop app made: a name, then 64 random bits. The TXT record already carries
// the id, so every desk can show every other desk by name without announcing anything new.
const NAMED_ID = /^([A-Za-z0-9-]{1,24})_[0-9a-f]{16}$/;

/** A new desk id that carries `person` (a user or computer name) as plain ASCII. */
export function newPeerId(person: string, random = () => randomBytes(8).toString('hex')): string {
  const slug = person
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  return `${slug || 'desk'}_${random()}`;
}

/** The name a desk shows as: the one in its id, or (desks started by the CLI) a short id. */
export function deskName(peerId: string): string {
  return NAMED_ID.exec(peerId)?.[1] ?? `Desk ${peerId.slice(0, 6)}`;
}

/** Who is online, from the runtime's view of the LAN: this desk first, then the host, then by name. */
export function desksOf(state: PresenceState, selfName: string): DeskInfo[] {
  const others = state.peers
    .filter((p) => p.role !== 'leaving' && p.peerId !== state.peerId)
    .map((p): DeskInfo => ({ peerId: p.peerId, name: deskName(p.peerId), role: p.role, self: false }))
    .sort((a, b) => Number(b.role === 'host') - Number(a.role === 'host') || a.name.localeCompare(b.name));
  return [{ peerId: state.peerId, name: selfName, role: state.role, self: true }, ...others];
}

/**
 * Publishes who is online on the desk's own live server whenever it changes, as
 * `{type: 'update-presence', value: {desks}}`. Every desk sees the same desks over mDNS, so
 * every desk publishes for its own pages; nothing crosses between desks.
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

export type PresencePublisher = ReturnType<typeof startPresence>;
