import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../log.js';
import type { Role } from './discovery.js';

/**
 * One proven connection between two desks: JSON messages over a WebSocket on mutual TLS, after
 * both ends proved the join key (see deskLink.ts for the handshake). Either end can call the other
 * (`call` → `ret`) and send events. The side that connected sends a ping every heartbeat and
 * learns the other side's clock from the pongs; either side gives up on a silent peer.
 */

/** What a desk says about itself once the other side has proven the key. */
export interface DeskInfo {
  deskId: string;
  /** The person or machine the desk is named after, for "who is online". */
  name: string;
  role: Role;
  /** The host it follows (for a peer), so that whoever asks can go there. */
  host: { deskId: string; addresses: string[]; deskPort: number } | null;
  /** Its own addresses and ports, as it knows them. */
  addresses: string[];
  deskPort: number;
  webPort: number;
  /** How far its replica reaches, in its host's revisions. */
  revision: number;
  /** The last time it was in sync with another desk of the calendar (0: never). */
  inSyncAt: number;
}

export type Handler = (args: unknown, channel: Channel) => unknown;

export interface Channel {
  readonly peer: DeskInfo;
  /** The address the other desk's packets come from. */
  readonly remoteAddress: string;
  /** The generation of the key both proved (it grows with every key change). */
  readonly keyGen: number;
  call(method: string, args?: unknown, timeoutMs?: number): Promise<unknown>;
  emit(event: string, data?: unknown): void;
  /** Sends an event as `encodeEvent` wrote it: one encoding for every channel it goes to. */
  emitEncoded(text: string): void;
  onEvent(listener: (event: string, data: unknown) => void): () => void;
  serve(handlers: Record<string, Handler>): void;
  onClose(listener: (why: string) => void): () => void;
  /** The other clock minus ours, from the pongs with the shortest round trip (connecting side only). */
  clockOffset(): number | null;
  /** Called after each pong, when the offset may have moved. */
  onClock(listener: () => void): () => void;
  /**
   * Resolves once the first pong has come (true), or after `timeoutMs` or a close (false). A
   * follower waits for it before it stamps or checks anything against the host's time.
   */
  clockKnown(timeoutMs: number): Promise<boolean>;
  close(why?: string): void;
}

export interface ChannelOptions {
  log: Logger;
  /** The side that connected pings; both give up after `lossMs` of silence. */
  pings: boolean;
  heartbeatMs: number;
  lossMs: number;
  /** The time this desk answers pongs with: its clock corrected to the host's. */
  now(): number;
  /** A peer that lets this much pile up unsent is dropped (it rejoins with a full hand-over). */
  maxBufferedBytes: number;
}

type Message =
  | { t: 'call'; id: number; m: string; a?: unknown }
  | { t: 'ret'; id: number; r?: unknown; e?: string }
  | { t: 'ev'; e: string; d?: unknown }
  | { t: 'ping'; s: number }
  | { t: 'pong'; s: number; h: number };

export class ChannelClosed extends Error {}

/** An event as it crosses the wire, for `emitEncoded`. */
export const encodeEvent = (event: string, data?: unknown) => JSON.stringify({ t: 'ev', e: event, d: data } satisfies Message);

/**
 * Turns an open, proven socket into a channel. `backlog` holds what arrived during the handshake;
 * it is read on the next turn, once the caller has had the chance to `serve` and listen.
 */
export function openChannel(ws: WebSocket, peer: DeskInfo, remoteAddress: string, keyGen: number, options: ChannelOptions, backlog: RawData[] = []): Channel {
  const { log } = options;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  const eventListeners = new Set<(event: string, data: unknown) => void>();
  const closeListeners = new Set<(why: string) => void>();
  const clockListeners = new Set<() => void>();
  let handlers: Record<string, Handler> = {};
  let nextId = 1;
  let closed: string | null = null;
  let lastHeard = Date.now();
  const samples: { rtt: number; offset: number }[] = [];

  /** Whether a message may go out now; a peer that lets too much pile up is dropped. */
  const writable = () => {
    if (closed || ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount <= options.maxBufferedBytes) return true;
    finish('the other desk does not keep up');
    return false;
  };
  const send = (message: Message) => {
    if (writable()) ws.send(JSON.stringify(message));
  };

  const finish = (why: string) => {
    if (closed) return;
    closed = why;
    clearInterval(heartbeat);
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(new ChannelClosed(`the channel to desk ${peer.deskId.slice(0, 8)} closed: ${why}`));
    }
    pending.clear();
    // A silent peer may be gone for good (a pulled cable): no closing handshake to wait for.
    if (ws.readyState === WebSocket.OPEN && why !== 'silent') ws.close(1000, why.slice(0, 100));
    else ws.terminate();
    for (const l of closeListeners) l(why);
  };

  const answer = async (id: number, method: string, args: unknown) => {
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (!handler) return send({ t: 'ret', id, e: `unknown method ${method.slice(0, 40)}` });
    try {
      send({ t: 'ret', id, r: (await handler(args, channel)) ?? null });
    } catch (err) {
      send({ t: 'ret', id, e: (err as Error).message.slice(0, 500) });
    }
  };

  const onMessage = (data: RawData, isBinary: boolean) => {
    lastHeard = Date.now();
    let msg: Message;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(data.toString());
    } catch {
      return finish('a message that is not JSON');
    }
    switch (msg?.t) {
      case 'call':
        if (!Number.isSafeInteger(msg.id) || typeof msg.m !== 'string') return finish('a malformed call');
        return void answer(msg.id, msg.m, msg.a);
      case 'ret': {
        const waiting = pending.get(msg.id);
        if (!waiting) return;
        pending.delete(msg.id);
        clearTimeout(waiting.timer);
        if (typeof msg.e === 'string') waiting.reject(new Error(msg.e));
        else waiting.resolve(msg.r);
        return;
      }
      case 'ev':
        if (typeof msg.e !== 'string') return finish('a malformed event');
        for (const l of eventListeners) l(msg.e, msg.d);
        return;
      case 'ping':
        if (typeof msg.s === 'number') send({ t: 'pong', s: msg.s, h: options.now() });
        return;
      case 'pong': {
        if (typeof msg.s !== 'number' || typeof msg.h !== 'number') return;
        const back = Date.now();
        const rtt = back - msg.s;
        if (rtt < 0 || rtt > 60_000) return;
        samples.push({ rtt, offset: msg.h - (msg.s + back) / 2 });
        if (samples.length > 8) samples.shift();
        for (const l of clockListeners) l();
        return;
      }
      default:
        return finish('a message of an unknown kind');
    }
  };

  // Held for one turn, with what came during the handshake first, so nothing overtakes the backlog.
  let held: RawData[] | null = [...backlog];
  ws.on('message', (data, isBinary) => (held ? held.push(data) : onMessage(data, isBinary)));
  setImmediate(() => {
    const queued = held ?? [];
    held = null;
    for (const data of queued) if (!closed) onMessage(data, false);
  });
  ws.on('close', (code, reason) => finish(reason.toString() || `closed (${code})`));
  ws.on('error', (err) => {
    log.warn(`desk channel to ${peer.deskId.slice(0, 8)}: ${err.message}`);
    finish(err.message);
  });
  const heartbeat = setInterval(() => {
    if (Date.now() - lastHeard > options.lossMs) return finish('silent');
    if (options.pings) send({ t: 'ping', s: Date.now() });
  }, options.heartbeatMs);
  // The first ping at once: the host's time is needed before the first change is stamped or checked.
  if (options.pings) send({ t: 'ping', s: Date.now() });

  const channel: Channel = {
    peer,
    remoteAddress,
    keyGen,
    call(method, args, timeoutMs = 5000) {
      if (closed) return Promise.reject(new ChannelClosed(`the channel is closed: ${closed}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`desk ${peer.deskId.slice(0, 8)} did not answer ${method} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        send({ t: 'call', id, m: method, a: args });
      });
    },
    emit: (event, data) => send({ t: 'ev', e: event, d: data }),
    emitEncoded(text) {
      if (writable()) ws.send(text);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => void eventListeners.delete(listener);
    },
    serve(table) {
      handlers = table;
    },
    onClose(listener) {
      if (closed) queueMicrotask(() => listener(closed!));
      else closeListeners.add(listener);
      return () => void closeListeners.delete(listener);
    },
    onClock(listener) {
      clockListeners.add(listener);
      return () => void clockListeners.delete(listener);
    },
    clockKnown(timeoutMs) {
      if (samples.length > 0) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done = (known: boolean) => {
          clearTimeout(timer);
          offClock();
          offClose();
          resolve(known);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        const offClock = channel.onClock(() => done(true));
        const offClose = channel.onClose(() => done(false));
      });
    },
    clockOffset() {
      if (samples.length === 0) return null;
      return Math.round(samples.reduce((best, s) => (s.rtt < best.rtt ? s : best)).offset);
    },
    close: (why = 'closed') => finish(why),
  };
  return channel;
}
