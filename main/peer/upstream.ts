import { WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { Change, Store, VersionedChange } from '../store/types.js';
import { REPLICATION } from '../server/liveServer.js';
import { deskRequest } from './deskClient.js';

export interface UpstreamOptions {
  /** The host's base URL, e.g. http://10.0.0.5:3210 */
  hostUrl: string;
  token: string;
  store: Store;
  /** Tells this desk's own pages about changes that came from the host. */
  announce(changes: Change[]): void;
  log: Logger;
  /** The connection to the host is gone (closed, or silent past the heartbeat). */
  onLost(): void;
  heartbeatMs?: number;
  /** For tests and slow links: how long one request may take. */
  timeoutMs?: number;
}

export interface Upstream {
  /** How far this replica reaches, in the host's revisions. */
  hostRevision(): number;
  /** Sends changes made on this desk to the host; a failure is healed by the next join. */
  push(changes: Change[]): void;
  close(): void;
}

/**
 * Joins a host: follows its replication channel, hands it this desk's whole state (so that
 * whatever only this desk had, acknowledged while the host was away, reaches everyone), and
 * takes the host's whole state in return. Merges are last-writer-wins per record, so the
 * order in which the stream, the push and the pull arrive does not matter.
 */
export async function joinHost(options: UpstreamOptions): Promise<Upstream> {
  const { hostUrl, token, store, announce, log } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const strip = ({ rev: _rev, ...c }: Change): VersionedChange => c;
  let hostRevision = 0;
  let closed = false;
  let merging: Promise<unknown> = Promise.resolve();
  const mergeIn = (changes: VersionedChange[], revision: number) => {
    merging = merging
      .then(() => store.merge(changes))
      .then((applied) => {
        announce(applied);
        hostRevision = Math.max(hostRevision, revision);
      })
      .catch((err) => log.warn(`could not apply the host's changes: ${(err as Error).message}`));
    return merging;
  };

  const { key } = (await deskRequest(`${hostUrl}/api/v1`, token, timeoutMs)) as { key: string };
  const ws = new WebSocket(`${hostUrl.replace(/^http/, 'ws')}/api/v1?token=${encodeURIComponent(key)}&ws=1`);
  let alive = true;
  let heartbeat: NodeJS.Timeout | undefined;
  const lost = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    ws.terminate();
    options.onLost();
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the host did not start the socket')), timeoutMs);
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('message', (data) => {
      let msg: { action?: string; body?: any };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg.action === 'start') {
        clearTimeout(timer);
        ws.send(JSON.stringify({ action: 'subscribe', name: REPLICATION }));
        resolve();
      } else if (msg.action === 'event' && msg.body?.name === REPLICATION) {
        const { rev, change } = msg.body.value ?? {};
        if (change && Number.isSafeInteger(rev)) void mergeIn([change], rev);
      }
    });
  });
  ws.on('close', lost);
  ws.on('error', () => lost());
  ws.on('pong', () => (alive = true));
  heartbeat = setInterval(() => {
    if (!alive) return lost();
    alive = false;
    ws.ping();
  }, heartbeatMs);

  try {
    await deskRequest(`${hostUrl}/api/v1/peer/merge`, token, timeoutMs, { changes: store.exportState() });
    const state = (await deskRequest(`${hostUrl}/api/v1/peer/state`, token, timeoutMs)) as { revision: number; changes: VersionedChange[] };
    await mergeIn(state.changes, state.revision);
  } catch (err) {
    lost();
    throw err;
  }

  return {
    hostRevision: () => hostRevision,
    push(changes) {
      if (closed || changes.length === 0) return;
      deskRequest(`${hostUrl}/api/v1/peer/merge`, token, timeoutMs, { changes: changes.map(strip) }).catch((err) =>
        log.warn(`could not send a change to the host yet (${(err as Error).message}); it goes with the next join`),
      );
    },
    close() {
      closed = true;
      clearInterval(heartbeat);
      ws.close();
    },
  };
}
