import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from '../log.js';
import { MAX_CALLS, refuseCalls, runCalls, type RpcMethods } from './rpc.js';
import { createFanout } from './fanout.js';
import { createOutlet, frameText, type OutletStats } from './socketOutlet.js';

export interface SocketHubOptions {
  checkKey(key: string): boolean;
  methods: RpcMethods;
  log: Logger;
  /** The socket path; the upgrade is accepted only there, with `?token=…&ws=1`. */
  path?: string;
  /** Origins besides the page's own (same host) that may open sockets. */
  allowedOrigins?: readonly string[];
  heartbeatMs?: number;
  /**
   * The most unsent data one client may have: a message that would take it past this drops
   * the client instead of being queued (its page catches up with `changes?since=` on reconnect).
   */
  maxBufferedBytes?: number;
  maxPayloadBytes?: number;
  maxSubscriptions?: number;
  /**
   * How long a live message may wait to share a socket write with the ones after it. The first
   * message after a quiet spell of this long goes out at once; under a steady stream, one batch
   * goes out per window. 0 batches only what one turn of the event loop publishes.
   */
  fanoutWindowMs?: number;
}

/** The default fan-out window: below what a person notices, long enough to batch a busy office's writes. */
const DEFAULT_FANOUT_WINDOW_MS = 10;

export interface SocketHub {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Sends `{action:"event", body:{name, value}}` to the subscribers of `name` (in the next batch,
   * see `fanoutWindowMs`); returns how many it is queued for. With `retain`, the message is also kept and sent to whoever subscribes later
   * (for state such as who is online, which a page that opens late needs at once).
   */
  publish(name: string, value: unknown, options?: { retain?: boolean }): number;
  clientCount(): number;
  /**
   * The hub's own accounting: clients, their unsent bytes in total and the most of one now, the
   * most one client ever had right after a write, and how many were dropped for being slow.
   */
  stats(): OutletStats;
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  subscriptions: Set<string>;
  alive: boolean;
}

export const ENTITY_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const closeCodes = { unauthorized: 1008, binary: 1003, goingAway: 1001 } as const;

/** Answers an upgrade request with a plain-text HTTP refusal and ends the socket. */
export function refuseUpgrade(socket: Duplex, status: string, why: string) {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${why}\n`);
}

function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]) {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser: desks and scripts carry the key instead
  if (allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** Calls beyond MAX_CALLS in one frame are each answered with an error; a frame of more than this gets one error frame. */
const MAX_REFUSED_CALLS = 64;

/** The WebSocket side of the live server: auth, subscriptions, fan-out, RPC, heartbeat. */
export function createSocketHub(options: SocketHubOptions): SocketHub {
  const {
    checkKey,
    methods,
    log,
    path = '/api/v1',
    allowedOrigins = [],
    heartbeatMs = 30_000,
    maxBufferedBytes = 4 * 1024 * 1024,
    maxPayloadBytes = 64 * 1024,
    maxSubscriptions = 64,
    fanoutWindowMs = DEFAULT_FANOUT_WINDOW_MS,
  } = options;
  if (!(fanoutWindowMs >= 0 && fanoutWindowMs <= 1000)) throw new TypeError('fanoutWindowMs must be between 0 and 1000');
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes, perMessageDeflate: false });
  wss.on('error', (err) => log.error(`socket server: ${err.message}`));
  const clients = new Set<Client>();
  const subscribers = new Map<string, Set<Client>>();
  const retained = new Map<string, { frame: Buffer; payload: Buffer }>();
  let heartbeat: NodeJS.Timeout | null = null;
  let closing: Promise<void> | null = null;

  const drop = (client: Client) => {
    clients.delete(client);
    for (const name of client.subscriptions) {
      const set = subscribers.get(name);
      set?.delete(client);
      if (set?.size === 0) subscribers.delete(name);
    }
    client.subscriptions.clear();
  };
  const outlet = createOutlet<Client>({ maxBufferedBytes, log, onDropped: (client) => drop(client) });
  const deliver = outlet.deliver;
  const send = (client: Client, message: unknown) => deliver(client, Buffer.from(JSON.stringify(message)));
  const sendError = (client: Client, message: string) => send(client, { action: 'error', body: { message } });
  const fanout = createFanout<Client>({
    windowMs: fanoutWindowMs,
    subscribersOf: (name) => subscribers.get(name),
    subscribed: (client, name) => client.subscriptions.has(name),
    deliver: outlet.deliverChunk,
  });

  const subscribe = (client: Client, name: unknown) => {
    if (typeof name !== 'string' || !ENTITY_NAME.test(name)) return sendError(client, 'subscribe needs a valid entity name');
    if (client.subscriptions.has(name)) return;
    if (client.subscriptions.size >= maxSubscriptions) return sendError(client, `at most ${maxSubscriptions} subscriptions`);
    // Messages still waiting for their batch were published before this client subscribed.
    fanout.flushChannel(name);
    client.subscriptions.add(name);
    let set = subscribers.get(name);
    if (!set) subscribers.set(name, (set = new Set()));
    set.add(client);
    const kept = retained.get(name);
    if (kept) deliver(client, kept.payload, kept.frame);
  };
  const unsubscribe = (client: Client, name: unknown) => {
    if (typeof name !== 'string') return;
    client.subscriptions.delete(name);
    const set = subscribers.get(name);
    set?.delete(client);
    if (set?.size === 0) subscribers.delete(name);
  };

  const call = async (client: Client, body: unknown) => {
    if (!Array.isArray(body) || body.length === 0 || body.length > MAX_REFUSED_CALLS) {
      return sendError(client, `call needs a body of 1 to ${MAX_CALLS} calls`);
    }
    // Each call gets its answer, so the client's promises settle even when it sent too many.
    send(client, { action: 'result', body: body.length > MAX_CALLS ? refuseCalls(body) : await runCalls(methods, body) });
  };

  const onMessage = (client: Client, data: RawData, isBinary: boolean) => {
    if (isBinary) {
      client.ws.close(closeCodes.binary, 'binary frames are not supported');
      return;
    }
    let msg: { action?: unknown; name?: unknown; key?: unknown; body?: unknown };
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return sendError(client, 'malformed JSON');
    }
    if (typeof msg !== 'object' || msg === null) return sendError(client, 'a frame must be a JSON object');
    switch (msg.action) {
      case 'subscribe':
        return subscribe(client, msg.name);
      case 'unsubscribe':
        // The shipped client's detach() sends the entity name as `key`, without `name`.
        return unsubscribe(client, msg.name ?? msg.key);
      case 'call':
        return void call(client, msg.body);
      default:
        return sendError(client, `unknown action ${JSON.stringify(String(msg.action).slice(0, 40))}`);
    }
  };

  const startHeartbeat = () => {
    heartbeat ??= setInterval(() => {
      for (const client of clients) {
        if (!client.alive) {
          client.ws.terminate();
          continue;
        }
        if (outlet.full(client)) {
          outlet.dropSlow(client);
          continue;
        }
        client.alive = false;
        client.ws.ping();
      }
    }, heartbeatMs);
  };

  const onConnection = (ws: WebSocket, key: string) => {
    ws.on('error', (err) => log.warn(`socket: ${err.message}`));
    if (!checkKey(key)) {
      ws.close(closeCodes.unauthorized, 'Unauthorized');
      return;
    }
    const client: Client = { ws, subscriptions: new Set(), alive: true };
    clients.add(client);
    startHeartbeat();
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => onMessage(client, data, isBinary));
    ws.on('close', () => drop(client));
    send(client, { action: 'start', body: randomUUID() });
  };

  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      if (closing) return refuseUpgrade(socket, '503 Service Unavailable', 'shutting down');
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== path || url.searchParams.get('ws') !== '1') {
        return refuseUpgrade(socket, '404 Not Found', `sockets are served at ${path}?token=…&ws=1`);
      }
      if (!originAllowed(req, allowedOrigins)) return refuseUpgrade(socket, '403 Forbidden', 'this origin may not open a socket');
      const key = url.searchParams.get('token') ?? '';
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, key));
    },
    publish(name, value, options) {
      const set = subscribers.get(name);
      if (!set && !options?.retain) return 0;
      // Serialized, encoded and framed once; the batch it joins is shared by every subscriber.
      const payload = Buffer.from(JSON.stringify({ action: 'event', body: { name, value } }));
      const frame = frameText(payload);
      if (options?.retain) retained.set(name, { frame, payload });
      if (!set) return 0;
      fanout.publish(name, payload, frame);
      return set.size;
    },
    clientCount: () => clients.size,
    stats: () => outlet.stats(clients),
    close() {
      closing ??= (async () => {
        if (heartbeat) clearInterval(heartbeat);
        fanout.close();
        const closed = [...clients].map(
          (c) => new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            c.ws.once('close', () => resolve());
            c.ws.close(closeCodes.goingAway, 'server shutting down');
          }),
        );
        const grace = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
        await Promise.race([Promise.all(closed), grace]);
        for (const c of clients) c.ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
}
