import { ensureCalendarZone } from './dav/calendarSettings.js';
import { createTokenAuth } from './server/auth.js';
import type { Router } from 'express';
import { calendarAppRoutes } from './dav/calendarApps.js';
import { createLiveServer, type LiveServer } from './server/liveServer.js';
import { createLowStore } from './store/lowStore.js';
import type { Store } from './store/types.js';
import type { Logger } from './log.js';

export interface HostOptions {
  dataDir: string;
  token: string;
  log: Logger;
  port?: number;
  bind?: string;
  pageDir?: string;
  /** The host's certificate, for HTTPS to the LAN on the same port. */
  tls?: { cert: string; key: string } | null;
  /** Routes with their own authentication (local control commands), besides the calendar apps'. */
  routes?: readonly Router[];
  /** Where other devices reach this host, for the feed URLs the page shows. */
  publicBaseUrl?: () => string | null;
}

export interface Host {
  server: LiveServer;
  store: Store;
  port: number;
  /** Stops taking requests, then flushes the store. */
  close(): Promise<void>;
}

/** A complete live-update host on one data folder: store, auth, server, listening. */
export async function startHost(options: HostOptions): Promise<Host> {
  const store = await createLowStore({ dir: options.dataDir, log: options.log });
  try {
    // CalDAV and the feed convert through the calendar's zone: a new calendar takes this machine's.
    await ensureCalendarZone(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  const auth = createTokenAuth(options.token);
  const server = createLiveServer({
    store,
    auth,
    log: options.log,
    pageDir: options.pageDir,
    tls: options.tls,
    routes: (localChanges) => [
      ...(options.routes ?? []),
      calendarAppRoutes({ store, auth, log: options.log, onChanges: localChanges, publicBaseUrl: options.publicBaseUrl }),
    ],
  });
  let port: number;
  try {
    ({ port } = await server.listen(options.port ?? 3210, options.bind ?? '0.0.0.0'));
  } catch (err) {
    await server.close();
    await store.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    server,
    store,
    port,
    close() {
      closing ??= server.close().then(() => store.close());
      return closing;
    },
  };
}
