import { randomInt } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import type { Answer, Packet, StringAnswer, TxtAnswer } from 'dns-packet';
import makeMdns from 'multicast-dns';
import type { Logger } from '../log.js';

/**
 * Browsing for one service type the way RFC 6762 asks a querier to: a question at start, then
 * again after 1 s, 2 s, 4 s … up to an hour; each question lists the answers already known
 * (§7.1), so that responders stay quiet; a question another host just asked with no answer this
 * one lacks counts as asked (§7.3); announcements and goodbyes (TTL 0) are heard as they come.
 * multicast-dns (which bonjour-service uses) reads and writes the packets; only the schedule and
 * the cache are ours.
 */
export interface Sighting {
  instance: string;
  address: string;
  port: number;
  txt: Record<string, string>;
}

export interface MdnsBrowserOptions {
  /** e.g. `_lansched._tcp.local` */
  type: string;
  log: Logger;
  onSighting(s: Sighting): void;
  onGoodbye(instance: string, address: string): void;
}

export interface MdnsBrowser {
  close(): Promise<void>;
}

interface Cached {
  /** The instance name as its responder spells it: a known answer must repeat it exactly. */
  name: string;
  ptrTtl: number;
  ptrExpires: number;
  srv?: { port: number; target: string };
  txt?: Record<string, string>;
  address?: string;
}

const txtOf = (answer: TxtAnswer): Record<string, string> => {
  const out: Record<string, string> = {};
  const data = Array.isArray(answer.data) ? answer.data : [answer.data];
  for (const entry of data.slice(0, 32)) {
    const text = Buffer.isBuffer(entry) ? entry.toString('utf8') : String(entry);
    const eq = text.indexOf('=');
    if (eq > 0 && eq < 32) out[text.slice(0, eq).toLowerCase()] = text.slice(eq + 1, eq + 1 + 256);
  }
  return out;
};

const lower = (name: string) => name.toLowerCase();
const MAX_INSTANCES = 512;
/** Questions go 1 s apart at first, then 2 s, 4 s … up to an hour. */
const FIRST_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3_600_000;

export function createMdnsBrowser(options: MdnsBrowserOptions): MdnsBrowser {
  const { type, log } = options;
  const mdns = makeMdns();
  mdns.on('error', (err: Error) => log.warn(`mDNS: ${err.message}`));
  mdns.on('warning', (err: Error) => log.warn(`mDNS: ${err.message}`));
  const cache = new Map<string, Cached>();
  // Our own questions come back on loopback: the id tells them apart from other hosts'.
  const ownId = randomInt(1, 65535);
  let interval = FIRST_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let heardSince = false;
  let closed = false;

  /** PTRs a question lists as known: those with more than half their TTL left (§7.1). */
  const knownAnswers = (now = Date.now()): Answer[] =>
    [...cache]
      .filter(([, c]) => (c.ptrExpires - now) / 1000 > c.ptrTtl / 2)
      .map(([, c]) => ({ name: type, type: 'PTR', ttl: Math.floor((c.ptrExpires - now) / 1000), data: c.name }) as Answer);

  const emit = (instance: string) => {
    const c = cache.get(instance);
    if (c?.srv && c.txt && c.address) options.onSighting({ instance, address: c.address, port: c.srv.port, txt: c.txt });
  };

  const onResponse = (packet: Packet, rinfo: RemoteInfo) => {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    const touched = new Set<string>();
    const now = Date.now();
    for (const r of records) {
      if (r.type === 'PTR' && lower(r.name) === lower(type)) {
        const instance = lower((r as StringAnswer).data);
        if (r.ttl === 0) {
          if (cache.delete(instance)) options.onGoodbye(instance, rinfo.address);
          continue;
        }
        if (!cache.has(instance) && cache.size >= MAX_INSTANCES) continue;
        const c = cache.get(instance) ?? { name: (r as StringAnswer).data, ptrTtl: 0, ptrExpires: 0 };
        c.ptrTtl = r.ttl ?? 4500;
        c.ptrExpires = now + c.ptrTtl * 1000;
        // The address the answer came from: more reliable than the names a host advertises.
        c.address = rinfo.address;
        cache.set(instance, c);
        touched.add(instance);
      }
    }
    for (const r of records) {
      const c = cache.get(lower(r.name));
      if (!c) continue;
      if (r.type === 'SRV' && r.ttl !== 0) c.srv = { port: (r.data as { port: number }).port, target: (r.data as { target: string }).target };
      else if (r.type === 'TXT' && r.ttl !== 0) c.txt = txtOf(r as TxtAnswer);
      else continue;
      c.address = rinfo.address;
      touched.add(lower(r.name));
    }
    for (const instance of touched) emit(instance);
  };

  const onQuery = (packet: Packet) => {
    if (packet.id === ownId) return;
    if (!(packet.questions ?? []).some((q) => q.type === 'PTR' && lower(q.name) === lower(type))) return;
    // Duplicate question suppression (§7.3): another host asked, knowing no more than we do.
    const mine = new Set(knownAnswers().map((a) => lower((a as StringAnswer).data)));
    const theirs = (packet.answers ?? []).filter((a) => a.type === 'PTR' && lower(a.name) === lower(type));
    if (theirs.every((a) => mine.has(lower((a as StringAnswer).data)))) heardSince = true;
  };

  const ask = () => {
    if (closed) return;
    if (heardSince) {
      heardSince = false; // someone asked for us
    } else {
      const question = { id: ownId, questions: [{ name: type, type: 'PTR' }], answers: knownAnswers() } as unknown as makeMdns.QueryOutgoingPacket;
      mdns.query(question, (err: Error | null) => {
        if (err) log.warn(`mDNS query: ${err.message}`);
      });
    }
    // Cache maintenance: ask again before a known desk's record would lapse (at 80% of its TTL).
    const now = Date.now();
    const lapse = Math.min(...[...cache.values()].map((c) => c.ptrExpires - 0.2 * c.ptrTtl * 1000 - now));
    for (const [instance, c] of cache) if (c.ptrExpires <= now) cache.delete(instance);
    const next = Math.min(interval, Number.isFinite(lapse) ? Math.max(lapse, FIRST_INTERVAL_MS) : interval);
    interval = Math.min(interval * 2, MAX_INTERVAL_MS);
    // 20-120 ms of jitter, so that desks that started together do not ask at the same instant.
    timer = setTimeout(ask, next + randomInt(20, 120));
  };

  mdns.on('response', onResponse);
  mdns.on('query', onQuery);
  timer = setTimeout(ask, randomInt(20, 120));

  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        clearTimeout(timer);
        mdns.destroy(() => resolve());
      });
      return closing;
    },
  };
}
