import type { Logger } from '../log.js';
import { createTokenAuth } from '../server/auth.js';
import { createLiveServer, type LiveServer } from '../server/liveServer.js';
import { createLowStore } from '../store/lowStore.js';
import type { Change, Store } from '../store/types.js';
import { createDiscovery, type Discovery, type Role, type SeenPeer } from './discovery.js';
import { createSuspects, electHost, keepsHosting, type Candidate } from './election.js';
import { calendarIdentity, type CalendarIdentity } from './identity.js';
import { peerRoutes, type PeerStatus } from './peerRoutes.js';
import { deskRequest, deskUrl, probeDesks } from './deskClient.js';
import { createFeed } from './feed.js';
import { joinHost, type Upstream } from './upstream.js';

/** A line-worthy moment in a desk's life, for the CLI's stdout and the desktop's status area. */
export type RoleEvent =
  | { kind: 'hosting'; takeover: boolean }
  | { kind: 'joined'; host: SeenPeer }
  | { kind: 'host-lost'; host: string }
  | { kind: 'stepping-down'; host: SeenPeer };

export interface PeerState {
  role: Role;
  peerId: string;
  calendar: { id: string; name: string };
  host: { peerId: string; address: string; port: number } | null;
  peers: SeenPeer[];
  /** Calendars of other offices (or teams) seen on the LAN: one could join them with their key. */
  otherCalendars: { id: string; name: string }[];
}

export interface PeerRuntimeOptions {
  dataDir: string;
  peerId: string;
  calendar: { name: string; joinKey: string };
  port: number;
  bind: string;
  log: Logger;
  pageDir?: string;
  onRole?(event: RoleEvent): void;
  /** How long a starting desk listens for a host before it decides. */
  listenMs?: number;
  sweepMs?: number;
}

export interface PeerRuntime {
  readonly identity: CalendarIdentity;
  readonly port: number;
  readonly server: LiveServer;
  readonly store: Store;
  state(): PeerState;
  /** Called whenever the role, the host or the desks seen change. */
  onState(listener: (state: PeerState) => void): () => void;
  /** Leaves the calendar: a host hands over to the best desk first, then everyone says goodbye. */
  close(): Promise<void>;
}

const SUSPECT_MS = 10_000;
const WAIT_FOR_HOST_MS = 4000;

/**
 * One desk of a calendar: a live server over its own store, mDNS, and the rules that make
 * exactly one desk the host. Every desk writes to its own store first (so whatever a desk
 * acknowledged is on its own disk) and follows the host; the host merges what desks send.
 */
export async function startPeer(options: PeerRuntimeOptions): Promise<PeerRuntime> {
  const { log, peerId } = options;
  const identity = calendarIdentity(options.calendar.name, options.calendar.joinKey);
  const store = await createLowStore({ dir: options.dataDir, log });
  let role: Role = 'starting';
  let host: SeenPeer | null = null;
  let upstream: Upstream | null = null;
  const suspects = createSuspects(() => schedule(), SUSPECT_MS);
  let closing: Promise<void> | null = null;
  // Coalesced: a burst of mDNS answers is one update for the window.
  const feed = createFeed(() => runtime.state());
  const notify = feed.notify;

  // A desk that follows (or followed, until a new host is chosen) reports how far it got in its
  // host's revisions: the measure every follower of that host shares for the election.
  let followed = 0;
  const revision = () => {
    if (upstream) followed = upstream.hostRevision();
    return role === 'host' || role === 'starting' ? store.revision() : followed;
  };
  // Local writes made while this desk follows no host (or is still joining one): the next join's
  // full hand-over covers them too, but they are also sent as soon as a host is there.
  let unsent: Change[] = [];
  const sendLocal = (changes: Change[]) => {
    if (upstream) return upstream.push(changes);
    if (role !== 'host' && unsent.length < 10_000) unsent.push(...changes);
  };
  const status = (): PeerStatus => ({ peerId, calendarId: identity.id, role, revision: revision(), storeId: store.storeId });

  let server: LiveServer;
  server = createLiveServer({
    store,
    auth: createTokenAuth(identity.token),
    log,
    pageDir: options.pageDir,
    onLocalChanges: sendLocal,
    peerRoutes: peerRoutes({
      store,
      announce: (changes) => server.announce(changes),
      status,
      handover: async (from) => {
        // Copy what the leaving host has that this desk may not, then host.
        await pullFrom(from);
        becomeHost(true);
      },
    }),
  });
  let port: number;
  try {
    ({ port } = await server.listen(options.port, options.bind));
  } catch (err) {
    await store.close();
    throw err;
  }
  const discovery: Discovery = createDiscovery({ port, log, sweepMs: options.sweepMs });
  const announce = () => {
    discovery.announce({ calendarId: identity.id, calendarName: identity.name, peerId, role, revision: revision() });
    notify();
  };
  announce();

  const urlOf = deskUrl;
  const call = (url: string, path: string, body?: unknown, timeoutMs = 1500) => deskRequest(url + path, identity.token, timeoutMs, body);
  const pullFrom = async (url: string) => {
    const state = (await call(url, '/api/v1/peer/state', undefined, 10_000)) as { changes: never[] };
    server.announce(await store.merge(state.changes));
  };
  const mine = () =>
    discovery
      .peers()
      .filter((p) => p.calendarId === identity.id && !suspects.has(p.peerId));

  const becomeHost = (takeover: boolean) => {
    upstream?.close();
    upstream = null;
    unsent = [];
    host = null;
    role = 'host';
    announce();
    options.onRole?.({ kind: 'hosting', takeover });
  };

  const join = async (target: SeenPeer) => {
    upstream?.close();
    upstream = null;
    role = 'peer';
    host = target;
    announce();
    try {
      upstream = await joinHost({
        hostUrl: urlOf(target),
        token: identity.token,
        store,
        announce: (changes) => server.announce(changes),
        log,
        onLost: () => {
          if (closing || host?.peerId !== target.peerId) return;
          revision();
          upstream = null;
          options.onRole?.({ kind: 'host-lost', host: target.peerId });
          // It may be handing over or restarting: only suspect it if it is still silent.
          suspects.add(target.peerId);
          host = null;
          schedule();
        },
      });
      if (host?.peerId !== target.peerId) return upstream?.close();
      upstream.push(unsent.splice(0));
      announce();
      options.onRole?.({ kind: 'joined', host: target });
    } catch (err) {
      log.warn(`could not join ${urlOf(target)}: ${(err as Error).message}`);
      suspects.add(target.peerId);
      host = null;
      schedule();
    }
  };

  const probe = (peers: SeenPeer[]) => probeDesks(peers, identity, (id) => suspects.add(id));

  /** Looks at the LAN and takes the role the rules give: join the host, or host. */
  const decide = async () => {
    // A host suspected after a failed join may be back (a healed partition): ask it again.
    const suspectedHosts = discovery
      .peers()
      .filter((p) => p.calendarId === identity.id && p.role === 'host' && suspects.has(p.peerId));
    for (const back of await probe(suspectedHosts)) suspects.clear(back.peerId);
    const peers = mine();
    const hosts = peers.filter((p) => p.role === 'host');
    if (role === 'host') {
      const other = hosts.find((h) => !keepsHosting(peerId, h.peerId));
      if (other) {
        options.onRole?.({ kind: 'stepping-down', host: other });
        await join(other);
      }
      return;
    }
    if (role === 'peer' && host && upstream && hosts.some((h) => h.peerId === host!.peerId)) return;
    if (hosts.length > 0) {
      // Of several hosts (a healed partition), the one that keeps hosting.
      const target = hosts.reduce((a, b) => (keepsHosting(a.peerId, b.peerId) ? a : b));
      if (host?.peerId !== target.peerId || !upstream) await join(target);
      return;
    }
    const candidates = await probe(peers.filter((p) => p.role !== 'leaving'));
    const live = candidates.find((c) => c.peer.role === 'host');
    if (live) return join(live.peer);
    const winner = electHost([{ peerId, revision: revision() }, ...candidates]);
    if (!winner || winner.peerId === peerId) return becomeHost(role !== 'starting');
    // Someone else should host: give it a moment to say so, then look again without it.
    waitingFor = winner.peerId;
    setTimeout(() => {
      if (waitingFor === winner.peerId && role !== 'host' && !upstream) {
        suspects.add(winner.peerId);
        schedule();
      }
    }, WAIT_FOR_HOST_MS).unref();
  };
  let waitingFor: string | null = null;

  // One decision at a time; anything that happens meanwhile asks for one more.
  let deciding: Promise<void> | null = null;
  let again = false;
  const schedule = () => {
    if (closing) return;
    if (deciding) {
      again = true;
      return;
    }
    deciding = (async () => {
      do {
        again = false;
        await decide().catch((err) => log.warn(`deciding the host: ${(err as Error).message}`));
      } while (again && !closing);
      deciding = null;
    })();
  };
  // A desk that comes back into view (a healed partition, a restart) is worth trusting again at once.
  let inView = new Set<string>();
  discovery.onChange(() => {
    const now = new Set(discovery.peers().map((p) => p.peerId));
    for (const id of now) if (!inView.has(id)) suspects.clear(id);
    inView = now;
    notify();
    if (role !== 'starting') schedule();
  });
  const listening = setTimeout(schedule, options.listenMs ?? 1500);
  // mDNS only reports changes; a periodic look catches what it cannot (a suspect reachable again).
  const recheck = setInterval(() => role !== 'starting' && schedule(), 3000);

  const runtime: PeerRuntime = {
    identity,
    port,
    server,
    store,
    onState: feed.subscribe,
    state() {
      const seen = discovery.peers();
      const others = new Map<string, string>();
      for (const p of seen) if (p.calendarId !== identity.id) others.set(p.calendarId, p.calendarName);
      return {
        role,
        peerId,
        calendar: { id: identity.id, name: identity.name },
        host: host && { peerId: host.peerId, address: host.address, port: host.port },
        peers: seen.filter((p) => p.calendarId === identity.id),
        otherCalendars: [...others].map(([id, name]) => ({ id, name })),
      };
    },
    close() {
      closing ??= (async () => {
        clearTimeout(listening);
        clearInterval(recheck);
        suspects.close();
        while (deciding) await deciding;
        if (role === 'host') {
          role = 'leaving';
          announce();
          const successor = electHost(await probe(mine().filter((p) => p.role === 'peer')));
          if (successor) {
            await call(urlOf((successor as Candidate & { peer: SeenPeer }).peer), '/api/v1/peer/handover', { port }, 15_000).catch((err) =>
              log.warn(`hand-over to ${successor.peerId} failed: ${(err as Error).message}`),
            );
          }
        }
        upstream?.close();
        await discovery.close();
        await server.close();
        await store.close();
      })();
      return closing;
    },
  };
  return runtime;
}
