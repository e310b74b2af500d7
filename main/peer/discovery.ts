import { Bonjour, type Browser, type Service } from 'bonjour-service';
import { isIP } from 'node:net';
import type { Logger } from '../log.js';
import { DESK_ID } from '../trust/certificate.js';
import { CALENDAR_ID, PROTOCOL_VERSION } from '../trust/keys.js';

export const SERVICE_TYPE = 'lansched';

export type Role = 'starting' | 'host' | 'peer' | 'leaving';

/**
 * What one desk announces over mDNS: where it is and which calendar it belongs to. Never a key,
 * a token, a person's name or anything that changes with every write. Anyone can announce
 * anything: a hint is only where a desk might be, until it proves the key over TLS.
 */
export interface Announcement {
  calendarId: string;
  calendarName: string;
  deskId: string;
  role: Role;
  /** The port browsers use; the SRV record carries the desk port. */
  webPort: number;
}

export interface Hint extends Announcement {
  address: string;
  deskPort: number;
  seen: number;
}

/** A desk of the previous version (protocol 1), which this one cannot talk to. */
export interface OutdatedDesk {
  calendarId: string;
  name: string;
  address: string;
  version: string;
}

export interface DiscoveryOptions {
  /** The desk port (SRV). */
  port: number;
  log: Logger;
  /** For tests: bonjour-service options such as `interface`. */
  mdns?: Record<string, unknown>;
  /** Hints kept at most (the newest win): 1,000 fake announcements cost this much and no more. */
  maxHints?: number;
}

export interface Discovery {
  announce(what: Announcement): void;
  hints(): Hint[];
  outdated(): OutdatedDesk[];
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** Text from the LAN as it may be shown or printed: no control characters, bounded. */
export const printable = (value: unknown, max = 80) => String(value ?? '').replace(CONTROL, '').slice(0, max);

const txtOf = (a: Announcement) => ({ v: String(PROTOCOL_VERSION), cal: a.calendarId, name: a.calendarName, id: a.deskId, role: a.role, web: String(a.webPort) });

const addressOf = (service: Service) => {
  const address = service.referer?.address ?? service.addresses?.find((a) => a.includes('.'));
  return address && isIP(address) ? address : null;
};

const validPort = (p: unknown) => Number.isInteger(p) && (p as number) > 0 && (p as number) <= 65535;

/** A hint from an announcement of this version, or null if it is not one. */
export function parseHint(service: Service, now = Date.now()): Hint | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const address = addressOf(service);
  const role = (['starting', 'host', 'peer', 'leaving'] as const).find((r) => r === txt.role);
  const webPort = Number(txt.web);
  if (txt.v !== String(PROTOCOL_VERSION) || !address || !role) return null;
  if (typeof txt.cal !== 'string' || !CALENDAR_ID.test(txt.cal) || typeof txt.id !== 'string' || !DESK_ID.test(txt.id)) return null;
  if (!validPort(service.port) || !validPort(webPort)) return null;
  return { calendarId: txt.cal, calendarName: printable(txt.name, 100), deskId: txt.id, role, webPort, address, deskPort: service.port, seen: now };
}

/** An announcement of another protocol version, for the "needs an update" message. */
function parseOutdated(service: Service): OutdatedDesk | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const address = addressOf(service);
  if (!address || txt.v === String(PROTOCOL_VERSION) || typeof txt.cal !== 'string' || !CALENDAR_ID.test(txt.cal)) return null;
  return { calendarId: txt.cal, name: printable(txt.peer ?? txt.id ?? service.name, 64), address, version: printable(txt.v, 8) };
}

/**
 * Hints of desks, newest last, at most `max`: a stranger announcing a thousand made-up desks
 * costs this much memory and no more (the oldest hints go first).
 */
export function createHintBook(max: number) {
  const hints = new Map<string, Hint>();
  return {
    /** Adds or refreshes a hint; true when something a desk decides on changed. */
    add(hint: Hint): boolean {
      const before = hints.get(hint.deskId);
      hints.delete(hint.deskId); // re-inserted last: the map's order is the age order
      hints.set(hint.deskId, hint);
      while (hints.size > max) hints.delete(hints.keys().next().value!);
      return !before || before.role !== hint.role || before.address !== hint.address || before.deskPort !== hint.deskPort;
    },
    /** Forgets a desk that said goodbye from that address. */
    remove(hint: Hint): boolean {
      return hints.get(hint.deskId)?.address === hint.address && hints.delete(hint.deskId);
    },
    values: () => [...hints.values()],
    size: () => hints.size,
  };
}

/**
 * mDNS for desks: announces this desk and collects hints of others. Desks watch each other over
 * their own connections; mDNS only says where a desk might be, so nothing here expires on a timer.
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { port, log } = options;
  const maxHints = options.maxHints ?? 256;
  // The default error callback throws, which would take the whole desk down with the network.
  const bonjour = new Bonjour(options.mdns ?? {}, (err: Error) => log.warn(`mDNS: ${err.message}`));
  const hints = createHintBook(maxHints);
  const outdated = new Map<string, OutdatedDesk>();
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  let service: Service | null = null;
  let announcement: Announcement | null = null;
  let closed = false;

  const onUp = (s: Service) => {
    const hint = parseHint(s);
    if (!hint) {
      const old = parseOutdated(s);
      if (old && outdated.size < 64 && !outdated.has(`${old.address}/${old.name}`)) {
        outdated.set(`${old.address}/${old.name}`, old);
        changed();
      }
      return;
    }
    if (hint.deskId !== announcement?.deskId && hints.add(hint)) changed();
  };
  const onDown = (s: Service) => {
    const hint = parseHint(s);
    if (hint && hints.remove(hint)) changed();
  };
  const browser: Browser = bonjour.find({ type: SERVICE_TYPE });
  browser.on('up', onUp);
  browser.on('txt-update', onUp);
  browser.on('down', onDown);

  let closing: Promise<void> | null = null;
  return {
    announce(what) {
      if (closed) return;
      const same = announcement && JSON.stringify(txtOf(announcement)) === JSON.stringify(txtOf(what));
      announcement = what;
      if (same) return;
      service?.stop?.();
      service = bonjour.publish({ name: `LAN Scheduler ${what.deskId.slice(0, 12)}`, type: SERVICE_TYPE, port, txt: txtOf(what), probe: false });
      service.on('error', (err: Error) => log.warn(`mDNS announce: ${err.message}`));
    },
    hints: hints.values,
    outdated: () => [...outdated.values()],
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        browser.stop();
        // unpublishAll sends the goodbyes; destroy closes the socket once they are out.
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      });
      return closing;
    },
  };
}
