import { getResponder, type CiaoService, type Responder } from '@homebridge/ciao';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { CONTROL, isPort } from '../checks.js';
import type { Logger } from '../log.js';
import { createMdnsBrowser, type Sighting } from './mdnsBrowser.js';
import { DESK_ID } from '../trust/certificate.js';
import { CALENDAR_ID, PROTOCOL_VERSION } from '../trust/keys.js';

export const SERVICE_TYPE = 'lansched';

/** What a desk is doing in its calendar, as it announces and tells other desks. */
export const ROLES = ['starting', 'host', 'peer', 'leaving'] as const;
export type Role = (typeof ROLES)[number];

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
}

export interface Discovery {
  announce(what: Announcement): void;
  hints(): Hint[];
  outdated(): OutdatedDesk[];
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Hints kept at most (the newest win): 1,000 fake announcements cost this much and no more. */
const MAX_HINTS = 256;

const CONTROLS = new RegExp(CONTROL.source, 'g');
/** Text from the LAN as it may be shown or printed: no control characters, bounded. */
export const printable = (value: unknown, max = 80) => String(value ?? '').replace(CONTROLS, '').slice(0, max);

const txtOf = (a: Announcement) => ({ v: String(PROTOCOL_VERSION), cal: a.calendarId, name: a.calendarName, id: a.deskId, role: a.role, web: String(a.webPort) });

const addressOf = (s: Sighting) => (isIP(s.address) ? s.address : null);

/** Where the desk a hint names may be reached: only where its announcement came from. */
export const hintTarget = (h: Pick<Hint, 'deskId' | 'address' | 'deskPort'>) => ({ deskId: h.deskId, addresses: [h.address], deskPort: h.deskPort });

/** A hint from an announcement of this version, or null if it is not one. */
export function parseHint(service: Sighting, now = Date.now()): Hint | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const address = addressOf(service);
  const role = ROLES.find((r) => r === txt.role);
  const webPort = Number(txt.web);
  if (txt.v !== String(PROTOCOL_VERSION) || !address || !role) return null;
  if (typeof txt.cal !== 'string' || !CALENDAR_ID.test(txt.cal) || typeof txt.id !== 'string' || !DESK_ID.test(txt.id)) return null;
  if (!isPort(service.port) || !isPort(webPort)) return null;
  return { calendarId: txt.cal, calendarName: printable(txt.name, 100), deskId: txt.id, role, webPort, address, deskPort: service.port, seen: now };
}

/** An announcement of another protocol version, for the "needs an update" message. */
function parseOutdated(service: Sighting): OutdatedDesk | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const address = addressOf(service);
  if (!address || txt.v === String(PROTOCOL_VERSION) || typeof txt.cal !== 'string' || !CALENDAR_ID.test(txt.cal)) return null;
  return { calendarId: txt.cal, name: printable(txt.peer ?? txt.id ?? service.instance.split('.')[0], 64), address, version: printable(txt.v, 8) };
}

/**
 * The interfaces to announce on: every one with a LAN address. Named for ciao, which otherwise
 * reads them from `ip -o link`, where a veth or VLAN shows as `lan0@if12` and matches nothing it
 * knows: it would then announce on loopback alone, unheard by any other desk.
 */
function lanInterfaces(): string[] | undefined {
  const names = Object.entries(networkInterfaces())
    .filter(([, list]) => list?.some((a) => !a.internal))
    .map(([name]) => name);
  return names.length > 0 ? names : undefined;
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
 * mDNS for desks, only to find each other: desks watch each other over their own channels, so
 * nothing here is repeated to keep a list fresh. This desk is announced when it starts and when
 * its role changes, answered when asked, and said goodbye to when it leaves, by @homebridge/ciao
 * (an RFC 6762 responder: probing, repeated announcements, known-answer suppression, TXT changes
 * in place, goodbyes); others are found by a querier with backoff (mdnsBrowser.ts). An idle LAN
 * is almost silent.
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { port, log } = options;
  const hints = createHintBook(MAX_HINTS);
  const outdated = new Map<string, OutdatedDesk>();
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  let responder: Responder | null = null;
  let service: CiaoService | null = null;
  let announcement: Announcement | null = null;
  let closed = false;

  const browser = createMdnsBrowser({
    type: `_${SERVICE_TYPE}._tcp.local`,
    log,
    onSighting(sighting) {
      const hint = parseHint(sighting);
      if (!hint) {
        const old = parseOutdated(sighting);
        if (old && outdated.size < 64 && !outdated.has(`${old.address}/${old.name}`)) {
          outdated.set(`${old.address}/${old.name}`, old);
          changed();
        }
        return;
      }
      if (hint.deskId !== announcement?.deskId && hints.add(hint)) changed();
    },
    onGoodbye(instance, address) {
      const gone = hints.values().find((h) => h.address === address && instance.startsWith(`lan scheduler ${h.deskId.slice(0, 12)}`));
      if (gone && hints.remove(gone)) changed();
    },
  });

  let closing: Promise<void> | null = null;
  return {
    announce(what) {
      if (closed) return;
      const txt = txtOf(what);
      const same = announcement && JSON.stringify(txtOf(announcement)) === JSON.stringify(txt);
      announcement = what;
      if (same) return;
      if (service) {
        // A new role: the record changes in place, announced again; no goodbye, no probing.
        service.updateTxt(txt);
        return;
      }
      responder = getResponder({ interface: lanInterfaces() });
      service = responder.createService({ name: `LAN Scheduler ${what.deskId.slice(0, 12)}`, type: SERVICE_TYPE, port, txt });
      service.advertise().catch((err: Error) => log.warn(`mDNS announce: ${err.message}`));
    },
    hints: hints.values,
    outdated: () => [...outdated.values()],
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        // end() sends the goodbyes; shutdown closes the responder's sockets once they are out.
        await service?.end().catch((err: Error) => log.warn(`mDNS goodbye: ${err.message}`));
        await service?.destroy().catch(() => undefined);
        await responder?.shutdown().catch(() => undefined);
        await browser.close();
      })();
      return closing;
    },
  };
}
