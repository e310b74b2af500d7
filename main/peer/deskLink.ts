import { createServer, type Server } from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { CONTROL, isPort } from '../checks.js';
import type { Logger } from '../log.js';
import { deskIdOf, DESK_ID, type DeskCertificate } from '../trust/certificate.js';
import { urlHost } from '../trust/invite.js';
import { PROTOCOL_VERSION } from '../trust/keys.js';
import { channelBinding, proofHolds, proofOf, type Transcript } from '../trust/proof.js';
import { openChannel, type Channel, type ChannelOptions, type DeskInfo } from './channel.js';
import { ROLES, type Role } from './discovery.js';

/**
 * Desk-to-desk links: mutual TLS 1.3 on the desk port (each side presents its own self-signed
 * certificate, so each learns the other's desk id from its key), then proofs of the join key over
 * the connection's exported keying material. The side that connects proves first; the other
 * answers with its own proof only after checking it, so a stranger who listens on an announced
 * address learns nothing, and a stranger who connects is refused before any data moves.
 * Nothing but the two proofs crosses before both hold.
 */

export type RefusalKind = 'unreachable' | 'pin' | 'proof' | 'calendar' | 'protocol' | 'key-changed' | 'timeout';

export class LinkRefused extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** The desk id the other end's certificate names, when the TLS handshake got that far. */
    readonly deskId?: string,
  ) {
    super(message);
  }
}

export interface LinkIdentity {
  cert: DeskCertificate;
  /** The calendar as it stands now: the secrets change when the key does. */
  calendar(): { id: string; deskSecret: Buffer; keyGen: number };
  /** What this desk tells a desk that has proven the key. */
  info(): DeskInfo;
}

export type LinkTiming = Pick<ChannelOptions, 'heartbeatMs' | 'lossMs' | 'maxBufferedBytes' | 'now'> & { handshakeMs: number };

/** The close code a refusal is sent with, and so read back by the desk refused. */
const CLOSE = { proof: 4001, calendar: 4002, protocol: 4003, 'key-changed': 4004 } as const satisfies Partial<Record<RefusalKind, number>>;
type SentRefusal = keyof typeof CLOSE;
const KIND_OF = new Map(Object.entries(CLOSE).map(([kind, code]) => [code as number, kind as SentRefusal]));
const MAX_PAYLOAD = 16 * 1024 * 1024;
const PATH = '/desk';
/** At most this many connections may be proving themselves at once: strangers cannot pile them up. */
const MAX_UNPROVEN = 32;

/** Checks what the other desk says about itself, as any input from the network. */
function checkDeskInfo(raw: unknown, deskId: string): DeskInfo {
  const i = raw as Partial<DeskInfo> | null;
  const addresses = (a: unknown) => Array.isArray(a) && a.length <= 16 && a.every((x) => typeof x === 'string' && isIP(x) !== 0);
  const ok =
    !!i && typeof i === 'object' &&
    i.deskId === deskId &&
    typeof i.name === 'string' && i.name.length <= 64 && !CONTROL.test(i.name) &&
    ROLES.includes(i.role as Role) &&
    addresses(i.addresses) && isPort(i.deskPort) && isPort(i.webPort) &&
    Number.isSafeInteger(i.revision) && (i.revision as number) >= 0 &&
    Number.isSafeInteger(i.inSyncAt) && (i.inSyncAt as number) >= 0 &&
    (i.host === null || (typeof i.host === 'object' && DESK_ID.test(String(i.host?.deskId)) && addresses(i.host?.addresses) && isPort(i.host?.deskPort)));
  if (!ok) throw new LinkRefused('protocol', 'the other desk described itself in a way this version does not understand', deskId);
  return { deskId, name: i.name!, role: i.role!, host: i.host ?? null, addresses: i.addresses!, deskPort: i.deskPort!, webPort: i.webPort!, revision: i.revision!, inSyncAt: i.inSyncAt! };
}

const peerIdOf = (socket: TLSSocket) => {
  const raw = socket.getPeerCertificate(true)?.raw;
  return raw ? deskIdOf(raw) : null;
};

/**
 * Messages of a socket that is not a channel yet, kept from the first byte: several can arrive in
 * one tick, and whatever follows the handshake belongs to the channel, so none may be dropped.
 */
function inbox(ws: WebSocket) {
  const queue: RawData[] = [];
  let waiting: { resolve(m: any): void; reject(e: Error): void; timer: NodeJS.Timeout } | null = null;
  let ended: LinkRefused | null = null;
  const settle = () => {
    if (!waiting) return;
    const w = waiting;
    if (queue.length > 0) {
      waiting = null;
      clearTimeout(w.timer);
      const data = queue.shift()!;
      try {
        w.resolve(JSON.parse(data.toString()));
      } catch {
        w.reject(new LinkRefused('protocol', 'the other desk sent something that is not JSON'));
      }
    } else if (ended) {
      waiting = null;
      clearTimeout(w.timer);
      w.reject(ended);
    }
  };
  const onMessage = (data: RawData) => {
    queue.push(data);
    settle();
  };
  const onClose = (code: number, reason: Buffer) => {
    ended = new LinkRefused(KIND_OF.get(code) ?? 'unreachable', reason.toString() || `the other desk closed the link (${code})`);
    settle();
  };
  ws.on('message', onMessage);
  ws.on('close', onClose);
  return {
    next(ms: number): Promise<any> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = null;
          reject(new LinkRefused('timeout', 'the other desk did not answer in time'));
        }, ms);
        waiting = { resolve, reject, timer };
        settle();
      });
    },
    /** Stops collecting; what came after the handshake goes to the channel. */
    handOff(): RawData[] {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      return queue.splice(0);
    },
  };
}

/** Opens a proven channel to the desk at `address:port`; `deskId`, when known, pins who must answer. */
export async function connectDesk(
  target: { address: string; port: number; deskId?: string },
  me: LinkIdentity,
  timing: LinkTiming,
  log: Logger,
): Promise<Channel> {
  const ws = new WebSocket(`wss://${urlHost(target.address)}:${target.port}${PATH}`, {
    cert: me.cert.cert,
    key: me.cert.key,
    minVersion: 'TLSv1.3',
    // Self-signed on both sides: who answers is checked below, by the key in its certificate.
    rejectUnauthorized: false,
    handshakeTimeout: timing.handshakeMs,
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  ws.on('error', () => undefined); // reported through the promises below
  const messages = inbox(ws);
  try {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.socket as TLSSocket));
      ws.once('error', (err) => reject(new LinkRefused('unreachable', err.message)));
      ws.once('unexpected-response', (_req, res) => reject(new LinkRefused('protocol', `the desk answered HTTP ${res.statusCode}`)));
    });
    const serverId = peerIdOf(socket);
    if (!serverId) throw new LinkRefused('pin', 'the other end has no certificate');
    if (target.deskId && serverId !== target.deskId) {
      throw new LinkRefused('pin', `the desk at ${target.address} is not desk ${target.deskId.slice(0, 8)} (another key answered)`, serverId);
    }
    if (ws.readyState !== WebSocket.OPEN) await new Promise((resolve) => ws.once('open', resolve));
    const calendar = me.calendar();
    const transcript: Transcript = { calendarId: calendar.id, clientId: me.cert.deskId, serverId, binding: channelBinding(socket) };
    ws.send(JSON.stringify({ t: 'hello', v: PROTOCOL_VERSION, calendar: calendar.id, keyGen: calendar.keyGen, proof: proofOf(calendar.deskSecret, 'client', transcript) }));
    const answer = await messages.next(timing.handshakeMs);
    if (answer?.t !== 'hello' || !proofHolds(calendar.deskSecret, 'server', transcript, answer.proof)) {
      throw new LinkRefused('proof', `the desk at ${target.address} could not prove it holds the key`, serverId);
    }
    const peer = checkDeskInfo(answer.info, serverId);
    ws.send(JSON.stringify({ t: 'info', info: me.info() }));
    const keyGen = Number.isSafeInteger(answer.keyGen) ? (answer.keyGen as number) : calendar.keyGen;
    return openChannel(ws, peer, target.address, keyGen, { ...timing, log, pings: true }, messages.handOff());
  } catch (err) {
    ws.terminate();
    throw err instanceof LinkRefused ? err : new LinkRefused('unreachable', (err as Error).message);
  }
}

export interface DeskServerOptions {
  port: number;
  bind: string;
  me: LinkIdentity;
  timing: LinkTiming;
  log: Logger;
  /** A desk proved the key: its channel, ready for `serve`. */
  onChannel(channel: Channel): void;
  /** A connection that failed (reported once per desk id by the caller). */
  onRefused?(kind: RefusalKind, deskId: string | null, address: string): void;
}

export interface DeskServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The desk port: TLS 1.3 with client certificates, one WebSocket path, proofs before anything else. */
export async function startDeskServer(options: DeskServerOptions): Promise<DeskServer> {
  const { me, timing, log } = options;
  let unproven = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
  const https: Server = createServer({ cert: me.cert.cert, key: me.cert.key, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false });
  // Only desks that prove the key, over the socket, are served here: a browser token gets nothing.
  https.on('request', (_req, res) =>
    void res
      .writeHead(403, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ action: 'error', message: 'this port is for desks of the calendar, after they prove its key' })),
  );
  https.on('tlsClientError', () => undefined);

  const refuse = (ws: WebSocket, kind: SentRefusal, why: string, deskId: string | null, address: string) => {
    options.onRefused?.(kind, deskId, address);
    ws.close(CLOSE[kind], why);
  };

  const accept = async (ws: WebSocket, socket: TLSSocket, clientId: string, address: string) => {
    const messages = inbox(ws);
    const hello = await messages.next(timing.handshakeMs);
    const calendar = me.calendar();
    if (hello?.t !== 'hello') return refuse(ws, 'protocol', 'expected hello', clientId, address);
    if (hello.v !== PROTOCOL_VERSION) {
      return refuse(ws, 'protocol', `protocol ${String(hello.v).slice(0, 8)}; this desk speaks ${PROTOCOL_VERSION}`, clientId, address);
    }
    if (hello.calendar !== calendar.id) return refuse(ws, 'calendar', 'not a desk of that calendar', clientId, address);
    const transcript: Transcript = { calendarId: calendar.id, clientId, serverId: me.cert.deskId, binding: channelBinding(socket) };
    if (!proofHolds(calendar.deskSecret, 'client', transcript, hello.proof)) {
      // A desk that says it holds an older key generation is told the key changed, so it can say so
      // to its person; anyone else only learns that the proof failed.
      if (Number.isSafeInteger(hello.keyGen) && hello.keyGen < calendar.keyGen) {
        return refuse(ws, 'key-changed', `the key was changed (generation ${calendar.keyGen})`, clientId, address);
      }
      return refuse(ws, 'proof', 'the key proof failed', clientId, address);
    }
    ws.send(JSON.stringify({ t: 'hello', v: PROTOCOL_VERSION, proof: proofOf(calendar.deskSecret, 'server', transcript), keyGen: calendar.keyGen, info: me.info() }));
    const info = await messages.next(timing.handshakeMs);
    if (info?.t !== 'info') return refuse(ws, 'protocol', 'expected info', clientId, address);
    options.onChannel(openChannel(ws, checkDeskInfo(info.info, clientId), address, calendar.keyGen, { ...timing, log, pings: false }, messages.handOff()));
  };

  https.on('upgrade', (req, raw, head) => {
    const socket = raw as TLSSocket;
    socket.on('error', () => socket.destroy());
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const clientId = peerIdOf(socket);
    if (new URL(req.url ?? '/', 'https://x').pathname !== PATH || !clientId || unproven >= MAX_UNPROVEN) {
      socket.end(`HTTP/1.1 ${clientId ? '503 Busy' : '401 Certificate Required'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    unproven++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      accept(ws, socket, clientId, address)
        .catch((err) => {
          options.onRefused?.(err instanceof LinkRefused ? err.kind : 'protocol', clientId, address);
          ws.terminate();
        })
        .finally(() => unproven--);
    });
  });

  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(options.port, options.bind, () => {
      https.off('error', reject);
      https.on('error', (err) => log.error(`desk port: ${err.message}`));
      resolve();
    });
  });
  let closing: Promise<void> | null = null;
  return {
    port: (https.address() as { port: number }).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        https.close(() => resolve());
        https.closeAllConnections();
      });
      return closing;
    },
  };
}
