import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { calendarAppRoutes } from '../dav/calendarApps.js';
import type { Logger } from '../log.js';
import type { Change, Store, VersionedChange } from '../store/types.js';
import type { TokenAuth } from './auth.js';
import { dataRoutes } from './dataRoutes.js';
import { liveValue } from './entities.js';
import { errorBody, HttpError } from './httpError.js';
import { createRecordService } from './records.js';
import type { RpcMethods } from './rpc.js';
import { createSocketHub } from './socketHub.js';
import { syncMethods, syncRoutes } from './syncRoutes.js';
import { storeErrorAnswer } from './storeErrors.js';
import { limits } from './validate.js';

export interface LiveServerOptions {
  store: Store;
  auth: TokenAuth;
  log: Logger;
  /** The built page (index.html and its bundle); a placeholder is served at / without it. */
  pageDir?: string;
  /** Extra socket RPC methods, by "service.method". */
  methods?: RpcMethods;
  /** Origins other than the page's own that may open sockets. */
  allowedOrigins?: readonly string[];
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  /** Routes for other desks, mounted at /api/v1/peer behind the token, with a larger body limit. */
  peerRoutes?: express.Router;
  /** Called with every change this server's own REST writes made, once durable and announced. */
  onLocalChanges?: (changes: Change[]) => void;
  /** The address other devices reach this desk at (https://LAN-ADDRESS:PORT), for the feed URLs the page shows. */
  publicBaseUrl?: () => string | null | undefined;
}

export interface LiveServer {
  readonly app: express.Express;
  /** Starts listening; port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<{ port: number; host: string }>;
  /** Server-side publish for any entity, stored or not (presence, notices); `retain` keeps it for late subscribers. */
  publish(name: string, value: unknown, options?: { retain?: boolean }): number;
  /** Tells pages and desks about changes made to the store by others (a merge from a desk). */
  announce(changes: Change[]): void;
  clientCount(): number;
  /** Stops sockets and HTTP. The store belongs to the caller and stays open. */
  close(): Promise<void>;
}

/** The page's Content-Security-Policy: no inline script, sockets only back to this host. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** An Express app that sends the page's security headers (CSP included) with every answer. */
export function pageApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    next();
  });
  return app;
}

const PROTECTED = ['/api/v1', '/events', '/gantt', '/calendars'];
/** The live channel on which desks follow a host: `{rev, storeId, change}` for every change. */
export const REPLICATION = 'replication';
/** A desk hands over its whole calendar when it joins: far more than one event. */
const PEER_BODY_BYTES = 64 * 1024 * 1024;
const versioned = ({ rev: _rev, ...change }: Change): VersionedChange => change;

/** The live-update host: REST for Scheduler, Gantt and calendars, the socket hub, and the page, on one port. */
export function createLiveServer(options: LiveServerOptions): LiveServer {
  const { store, auth, log } = options;
  const methods = { ...syncMethods(store), ...options.methods };
  const hub = createSocketHub({
    checkKey: auth.checkKey,
    methods,
    log,
    allowedOrigins: options.allowedOrigins,
    heartbeatMs: options.heartbeatMs,
    maxBufferedBytes: options.maxBufferedBytes,
  });
  // After the writer's answer has gone out: its reply should not wait for a fan-out to every desk.
  // Pages get the protocol's messages; desks following this one get the versioned change.
  const announce = (changes: Change[]) => {
    if (changes.length === 0) return;
    setImmediate(() => {
      for (const change of changes) {
        hub.publish(change.entity, liveValue(change));
        hub.publish(REPLICATION, { rev: change.rev, storeId: store.storeId, change: versioned(change) });
      }
    });
  };
  // What this server writes (REST, CalDAV, import) is announced to pages and handed to desks the same way.
  const localChanges = (changes: Change[]) => {
    announce(changes);
    options.onLocalChanges?.(changes);
  };
  const records = createRecordService(store, localChanges);

  const app = pageApp();
  servePage(app, options.pageDir);

  const requireToken: RequestHandler = (req, _res, next) => {
    const token = req.get('Remote-Token');
    if (!token) throw new HttpError(401, 'the Remote-Token header is missing');
    if (!auth.checkToken(token)) throw new HttpError(403, 'the Remote-Token is not valid for this calendar');
    next();
  };
  const jsonOnly: RequestHandler = (req, _res, next) => {
    if ((req.method === 'POST' || req.method === 'PUT') && !req.is('application/json')) {
      throw new HttpError(415, 'send the body as application/json');
    }
    next();
  };
  if (options.peerRoutes) {
    app.use('/api/v1/peer', requireToken, jsonOnly, express.json({ limit: PEER_BODY_BYTES, strict: true }), options.peerRoutes);
  }
  app.use(calendarAppRoutes({ store, auth, log, onChanges: localChanges, publicBaseUrl: options.publicBaseUrl }));
  app.use(PROTECTED, requireToken, jsonOnly, express.json({ limit: limits.bodyBytes, strict: true }));
  app.use(syncRoutes(store, auth, methods));
  app.use(dataRoutes(store, records));
  app.use((_req, res) => void res.status(404).json(errorBody('not found')));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const known: Record<string, [number, string]> = {
      'entity.parse.failed': [400, 'the body is not valid JSON'],
      'entity.too.large': [413, `the body is larger than ${(err?.limit ?? limits.bodyBytes) / 1024} KiB`],
      'encoding.unsupported': [415, 'unsupported content encoding'],
      'charset.unsupported': [415, 'unsupported charset'],
    };
    const [status, message] =
      err instanceof HttpError ? [err.status, err.message] : (storeErrorAnswer(err) ?? known[err?.type] ?? [500, 'internal error']);
    if (status === 500) log.error(`request failed: ${err?.stack ?? err}`);
    res.status(status).json(errorBody(message));
  };
  app.use(onError);

  let server: Server | null = null;
  let closing: Promise<void> | null = null;
  return {
    app,
    listen(port = 0, host = '127.0.0.1') {
      if (server) return Promise.reject(new Error('already listening'));
      const http = (server = createServer(app));
      http.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
      http.on('clientError', (_err, socket) => socket.destroy());
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          http.on('error', (err) => log.error(`http server: ${err.message}`));
          const address = http.address() as AddressInfo;
          resolve({ port: address.port, host: address.address });
        });
      });
    },
    publish: (name, value, options) => hub.publish(name, value, options),
    announce,
    clientCount: () => hub.clientCount(),
    close() {
      closing ??= (async () => {
        await hub.close();
        if (!server) return;
        const http = server;
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function servePage(app: express.Express, pageDir: string | undefined) {
  if (pageDir && existsSync(join(pageDir, 'index.html'))) {
    app.use(express.static(pageDir, { index: 'index.html', maxAge: 0 }));
    return;
  }
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><meta charset="utf-8"><title>LAN Scheduler</title><p>LAN Scheduler host is running. The page is not built: run <code>npm run build</code>.</p>');
  });
}
