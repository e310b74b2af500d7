import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestListener } from 'node:http';
import compression from 'compression';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from '../log.js';
import type { Change, Store } from '../store/types.js';
import type { TokenAuth } from './auth.js';
import { dataRoutes } from './dataRoutes.js';
import { liveValue } from './entities.js';
import { createFastWrites } from './fastWrites.js';
import { errorBody, HttpError } from './httpError.js';
import { createRecordService } from './records.js';
import type { RpcMethods } from './rpc.js';
import { createSocketHub } from './socketHub.js';
import { syncMethods, syncRoutes } from './syncRoutes.js';
import { errorAnswer } from './storeErrors.js';
import { limits } from './validate.js';
import { createWebFront, type WebFront } from './webFront.js';

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
  /**
   * How long a live message may wait to share socket writes with later ones (default 10 ms; 0
   * batches only one turn's messages). The first message after a quiet spell goes out at once.
   */
  fanoutWindowMs?: number;
  /**
   * The desk's certificate: LAN clients get HTTPS with it on the same port, and plain HTTP from the
   * LAN is refused (or, for a page load, redirected). Without it only plain HTTP is served.
   */
  tls?: { cert: string; key: string } | null;
  /** Names this host answers to besides its addresses and host name (the Host allow-list). */
  hostNames?: readonly string[];
  /**
   * Routes that check their own credentials and read their own bodies (calendar apps, local control
   * commands), mounted before the REST API's token check. Whatever they write they hand to
   * `localChanges`, which announces it exactly as REST writes are announced (pages, desks).
   */
  routes?: (localChanges: (changes: Change[]) => void) => readonly express.Router[];
  /** Called with every change this server's own REST writes made, once durable and announced. */
  onLocalChanges?: (changes: Change[]) => void;
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

/** The security headers every answer carries, CSP included. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': PAGE_CSP,
};

/** An Express app that sends the page's security headers (CSP included) with every answer. */
export function pageApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    next();
  });
  // The page (about 700 KB of script and style) and large answers (a range of events, a feed) go
  // compressed to browsers that ask: a quarter of the bytes over office Wi-Fi. Small answers, and
  // every write's answer, are left as they are (under the 1 KB threshold).
  app.use(compression());
  return app;
}

const PROTECTED = ['/api/v1', '/events', '/gantt', '/calendars'];

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
    fanoutWindowMs: options.fanoutWindowMs,
  });
  // After the writer's answer has gone out: its reply should not wait for the fan-out.
  const announce = (changes: Change[]) => {
    if (changes.length === 0) return;
    setImmediate(() => {
      for (const change of changes) hub.publish(change.entity, liveValue(change));
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
    if (!auth.checkToken(token, req.socket)) throw new HttpError(403, 'the Remote-Token is not valid for this calendar');
    next();
  };
  const jsonOnly: RequestHandler = (req, _res, next) => {
    if ((req.method === 'POST' || req.method === 'PUT') && !req.is('application/json')) {
      throw new HttpError(415, 'send the body as application/json');
    }
    next();
  };
  // Desks talk to each other on their own port, after proving the key: whoever reaches for desk
  // routes here (a browser token, a desk of the previous version) is told no.
  for (const router of options.routes?.(localChanges) ?? []) app.use(router);
  app.use('/api/v1/peer', () => {
    throw new HttpError(403, 'desk routes are not served to browsers: desks talk on the desk port, after proving the key');
  });
  app.use(PROTECTED, requireToken, jsonOnly, express.json({ limit: limits.bodyBytes, strict: true }));
  app.use(syncRoutes(store, auth, methods));
  app.use(dataRoutes(store, records));
  app.use((_req, res) => void res.status(404).json(errorBody('not found')));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const [status, message] = errorAnswer(err);
    if (status === 500) log.error(`request failed: ${err?.stack ?? err}`);
    res.status(status).json(errorBody(message));
  };
  app.use(onError);
  // The Scheduler's writes skip Express when they can: see fastWrites.ts. The calendar apps' and
  // other extra routes never serve /events, so nothing mounted before the REST API is bypassed.
  // Vary as compression() sets it on every JSON answer (a write's answer is never large enough to compress).
  const fastWrites = createFastWrites({ auth, records, log, headers: { ...PAGE_HEADERS, Vary: 'Accept-Encoding' }, bodyBytes: limits.bodyBytes });
  const handler: RequestListener = (req, res) => {
    if (!fastWrites(req, res)) app(req, res);
  };

  let front: WebFront | null = null;
  let closing: Promise<void> | null = null;
  return {
    app,
    listen(port = 0, host = '127.0.0.1') {
      if (front) return Promise.reject(new Error('already listening'));
      front = createWebFront({ handler, onUpgrade: hub.handleUpgrade, tls: options.tls, log, names: options.hostNames });
      return front.listen(port, host);
    },
    publish: (name, value, options) => hub.publish(name, value, options),
    announce,
    clientCount: () => hub.clientCount(),
    close() {
      closing ??= (async () => {
        await hub.close();
        await front?.close();
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
