import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { errorBody } from './httpError.js';
import { refuseUpgrade } from './socketHub.js';

/**
 * The web port: plain HTTP and HTTPS on one port, told apart by the first byte (a TLS handshake
 * starts with 0x16). The desktop window talks plain HTTP to 127.0.0.1; everything from the LAN
 * goes over HTTPS with the desk's certificate. Two rules stand in front of every request:
 * - Host allow-list (DNS rebinding): a page whose name resolves to this desk gets nothing; the
 *   desk answers only to its own addresses and names.
 * - No secrets in clear on the LAN: a plain-HTTP request from the LAN carrying a token, or asking
 *   for calendar data, is refused; a page load (which carries none: an invite's token is in the
 *   fragment, which browsers never send) is redirected to https.
 */
export interface WebFrontOptions {
  handler: RequestListener;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The desk's certificate; without it the port serves plain HTTP only (loopback tests, the lobby). */
  tls?: { cert: string; key: string } | null;
  log: Logger;
  /** More names this desk answers to, besides its addresses, its host name and `<name>.local`. */
  names?: readonly string[];
}

export interface WebFront {
  listen(port: number, bind: string): Promise<{ port: number; host: string }>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const DATA_PATH = /^\/(api|events|gantt|calendars|dav|\.well-known|feed)(\/|$|\?)/;

const bare = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '').split('%')[0]!.toLowerCase();

/** Whether a socket address (local or remote) is this machine's loopback: 127.0.0.0/8 or ::1, IPv4-mapped or not. */
export function isLoopback(address: string | undefined): boolean {
  const a = bare(address);
  return LOOPBACK.has(a) || a.startsWith('127.');
}

/** The host part of a Host header, without port or brackets; null if it is not one. */
export function hostOf(header: string | undefined): string | null {
  if (!header || header.length > 300) return null;
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:\s/]+))(?::\d{1,5})?$/i.exec(header.trim());
  return m ? (m[1] ?? m[2]!).toLowerCase() : null;
}

/** Every name and address this machine answers to now. */
export function ownNames(extra: readonly string[] = []): Set<string> {
  const names = new Set<string>([...LOOPBACK, ...extra.map((n) => n.toLowerCase())]);
  const host = hostname().toLowerCase();
  names.add(host).add(`${host.split('.')[0]}.local`);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bare(a.address));
  return names;
}

/** Why this request must not be served, as [status, message], or null when it may go on. */
export function frontCheck(req: IncomingMessage, names: Set<string>): [number, string] | null {
  const local = bare(req.socket.localAddress);
  const loopback = isLoopback(local);
  const host = hostOf(req.headers.host);
  // A loopback connection answers to loopback names only: the window's page, never a rebound name.
  const known = host !== null && (loopback ? LOOPBACK.has(host) : names.has(host) || host === local);
  if (!known) return [421, `this desk does not answer to the name ${JSON.stringify((req.headers.host ?? '').slice(0, 100))}`];
  if (loopback || (req.socket as TLSSocket).encrypted) return null;
  const secret = req.headers['remote-token'] !== undefined || req.headers.authorization !== undefined;
  const page = (req.method === 'GET' || req.method === 'HEAD') && !secret && !DATA_PATH.test(req.url ?? '/');
  return page ? [308, `https://${req.headers.host}${req.url ?? '/'}`] : [403, `this desk takes calendar requests over https only: https://${req.headers.host}/`];
}

function answer(res: ServerResponse, [status, message]: [number, string]) {
  if (status === 308) {
    res.writeHead(308, { Location: message, 'Content-Type': 'text/plain' }).end(`moved to ${message}\n`);
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(errorBody(message)));
}

export function createWebFront(options: WebFrontOptions): WebFront {
  const { log } = options;
  // Cached for a moment: the addresses change rarely, requests come often.
  let names = ownNames(options.names);
  let namesAt = Date.now();
  const currentNames = () => {
    if (Date.now() - namesAt > 5000) {
      names = ownNames(options.names);
      namesAt = Date.now();
    }
    return names;
  };
  const guarded: RequestListener = (req, res) => {
    const verdict = frontCheck(req, currentNames());
    if (verdict) return answer(res, verdict);
    options.handler(req, res);
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const verdict = frontCheck(req, currentNames());
    if (verdict) {
      refuseUpgrade(socket, `${verdict[0] === 308 ? 403 : verdict[0]} Refused`, verdict[1]);
      return;
    }
    options.onUpgrade(req, socket, head);
  };
  const servers: Server[] = [createHttpServer(guarded)];
  if (options.tls) servers.push(createHttpsServer({ ...options.tls, minVersion: 'TLSv1.2' }, guarded));
  for (const s of servers) {
    s.on('upgrade', upgrade);
    s.on('clientError', (_err, socket) => socket.destroy());
  }
  const [plain, secure] = servers as [Server, Server | undefined];
  secure?.on('tlsClientError', () => undefined);

  // The HTTP servers never listen themselves, so their own connection tracking never starts:
  // the front keeps the sockets, to end them on close (keep-alive ones would linger for seconds).
  const sockets = new Set<Socket>();
  const front = createNetServer((socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 && secure ? secure : plain).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });

  let closing: Promise<void> | null = null;
  return {
    listen(port, bind) {
      return new Promise((resolve, reject) => {
        front.once('error', reject);
        front.listen(port, bind, () => {
          front.off('error', reject);
          front.on('error', (err) => log.error(`web port: ${err.message}`));
          const address = front.address() as AddressInfo;
          resolve({ port: address.port, host: address.address });
        });
      });
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}
