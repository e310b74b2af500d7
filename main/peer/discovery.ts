import { Bonjour, type Browser, type Service } from 'bonjour-service';
import type { Logger } from '../log.js';
import { PROTOCOL_VERSION } from './identity.js';

export const SERVICE_TYPE = 'lansched';

export type Role = 'starting' | 'host' | 'peer' | 'leaving';

/** What one desk announces: never the join key, never a token. */
export interface Announcement {
  calendarId: string;
  calendarName: string;
  peerId: string;
  role: Role;
  revision: number;
}

/** A desk seen on the LAN. */
export interface SeenPeer extends Announcement {
  /** The address the answer came from (more reliable than the names it advertises). */
  address: string;
  port: number;
  lastSeen: number;
}

export interface DiscoveryOptions {
  port: number;
  log: Logger;
  /** How often to ask the LAN again; desks not heard from in three rounds are dropped. */
  sweepMs?: number;
  /** For tests: bonjour-service options such as `interface`. */
  mdns?: Record<string, unknown>;
}

export interface Discovery {
  announce(what: Announcement): void;
  peers(): SeenPeer[];
  /** Called whenever the set of desks or what they announce changes. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

const txtOf = (a: Announcement) => ({
  v: PROTOCOL_VERSION,
  cal: a.calendarId,
  name: a.calendarName,
  peer: a.peerId,
  role: a.role,
  rev: String(a.revision),
});

function parse(service: Service): SeenPeer | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const address = service.referer?.address ?? service.addresses?.find((a) => a.includes('.'));
  const revision = Number(txt.rev);
  if (txt.v !== PROTOCOL_VERSION || typeof txt.cal !== 'string' || typeof txt.peer !== 'string' || !address) return null;
  if (!/^[0-9a-f]{8,64}$/.test(txt.cal) || !/^[A-Za-z0-9_-]{4,64}$/.test(txt.peer)) return null;
  const role = (['starting', 'host', 'peer', 'leaving'] as const).find((r) => r === txt.role);
  if (!role || !Number.isSafeInteger(revision) || revision < 0) return null;
  if (!Number.isInteger(service.port) || service.port <= 0 || service.port > 65535) return null;
  return {
    calendarId: txt.cal,
    calendarName: String(txt.name ?? '').slice(0, 100),
    peerId: txt.peer,
    role,
    revision,
    address,
    port: service.port,
    lastSeen: Date.now(),
  };
}

/**
 * mDNS for desks: announces this desk and keeps a live list of the others. bonjour-service
 * never notices a desk that vanished without a goodbye (a crash, a pulled cable), so the list
 * is refreshed by asking again every sweep and expiring desks that stop answering.
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { port, log } = options;
  const sweepMs = options.sweepMs ?? 1000;
  // The default error callback throws, which would take the whole desk down with the network.
  const bonjour = new Bonjour(options.mdns ?? {}, (err: Error) => log.warn(`mDNS: ${err.message}`));
  const seen = new Map<string, SeenPeer>();
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  let service: Service | null = null;
  let announcement: Announcement | null = null;
  let browser: Browser | null = null;
  let closed = false;

  const onUp = (s: Service) => {
    const peer = parse(s);
    if (!peer || peer.peerId === announcement?.peerId) return;
    const before = seen.get(peer.peerId);
    seen.set(peer.peerId, peer);
    if (!before || before.role !== peer.role || before.address !== peer.address || before.port !== peer.port || before.revision !== peer.revision) changed();
  };
  const onDown = (s: Service) => {
    const peer = parse(s);
    if (peer && seen.get(peer.peerId)?.role === peer.role && seen.delete(peer.peerId)) changed();
  };
  const browse = () => {
    browser?.stop();
    // A fresh browser reports every desk that answers as `up`, which is how they stay fresh.
    browser = bonjour.find({ type: SERVICE_TYPE });
    browser.on('up', onUp);
    browser.on('txt-update', onUp);
    browser.on('down', onDown);
  };
  browse();
  const sweep = setInterval(() => {
    const stale = Date.now() - 3 * sweepMs - 500;
    let dropped = false;
    for (const [id, peer] of seen) if (peer.lastSeen < stale && seen.delete(id)) dropped = true;
    if (dropped) changed();
    browse();
  }, sweepMs);

  let closing: Promise<void> | null = null;
  return {
    announce(what) {
      if (closed) return;
      const same = announcement && JSON.stringify(txtOf(announcement)) === JSON.stringify(txtOf(what));
      announcement = what;
      if (same) return;
      // bonjour-service cannot change a TXT record in place: say goodbye, then publish anew.
      service?.stop?.();
      service = bonjour.publish({ name: `LAN Scheduler ${what.peerId}`, type: SERVICE_TYPE, port, txt: txtOf(what), probe: false });
      service.on('error', (err: Error) => log.warn(`mDNS announce: ${err.message}`));
    },
    peers: () => [...seen.values()],
    onChange: (listener) => void listeners.push(listener),
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        clearInterval(sweep);
        browser?.stop();
        // unpublishAll sends the goodbyes; destroy closes the socket once they are out.
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      });
      return closing;
    },
  };
}
