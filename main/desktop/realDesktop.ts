// The desktop controller with the real adapters (the peer runtime, mDNS for the lobby, key trials
// over desk links), as the Electron root starts it; tests start createDesktop with stand-ins.
import { hostname, userInfo } from 'node:os';
import type { Logger } from '../log.js';
import { createDiscovery } from '../peer/discovery.js';
import { findCalendarByKey } from '../peer/probe.js';
import { startPeer } from '../peer/runtime.js';
import { loadOrCreateDeskCertificate } from '../trust/certificate.js';
import { createDesktop } from './desktop.js';
import { startLobby } from './lobby.js';
import { HANDOVER_MS } from './quitting.js';

/** The name this desk shows as to colleagues: the user's login name, else the computer's. */
function person(): string {
  try {
    return userInfo().username || hostname();
  } catch {
    return hostname();
  }
}

/** The desk on `dataDir`, serving the page in `pageDir`, with the real runtime and discovery. */
export function createRealDesktop({ dataDir, pageDir, log }: { dataDir: string; pageDir: string; log: Logger }) {
  return createDesktop({
    dataDir,
    pageDir,
    log,
    person: person(),
    startPeer,
    // Well inside the quit limits: a successor that cannot take over by then takes over as after a crash.
    handoverMs: HANDOVER_MS,
    // The lobby only browses: it lists calendars on the LAN and announces nothing.
    startLobby: () => startLobby({ pageDir, log, browse: () => createDiscovery({ port: 0, log }) }),
    tryKey: async (joinKey, hints) => findCalendarByKey({ cert: await loadOrCreateDeskCertificate(dataDir, log), joinKey, hints, log, name: person() }),
  });
}
