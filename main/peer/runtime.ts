import { calendarAppRoutes } from '../dav/calendarApps.js';
import { ensureCalendarZone } from '../dav/calendarSettings.js';
import { createSwitchableAuth } from '../server/auth.js';
import { createLiveServer } from '../server/liveServer.js';
import { createLowStore, MAX_STAMP_AHEAD_MS } from '../store/lowStore.js';
import { lanAddresses, loadOrCreateDeskCertificate } from '../trust/certificate.js';
import { calendarSecrets, checkJoinKey, newJoinKey } from '../trust/keys.js';
import type { DeskInfo } from './channel.js';
import { createConnector } from './connector.js';
import { defaultTiming, type DeskContext, type Timing } from './context.js';
import { openDeskBook } from './deskBook.js';
import { startDeskServer, type DeskServer, type LinkIdentity } from './deskLink.js';
import { createDiscovery, hintTarget, printable, type Discovery } from './discovery.js';
import { createFeed } from './feed.js';
import { startPresence } from './presence.js';
import { createRoles, type RoleEvent, type RoleHooks, type Roles } from './roles.js';
import type { CalendarConfig, PeerParts, PeerRuntime, PeerRuntimeOptions, PeerState } from './runtimeTypes.js';

export type { RoleEvent };
export type { CalendarConfig, PeerRuntime, PeerRuntimeOptions, PeerState } from './runtimeTypes.js';

/**
 * One desk of a calendar: a live server over its own store, a desk port where desks that prove the
 * key talk to it, mDNS hints of where others might be, and the roles (see roles.ts). Every desk
 * writes to its own store first, so whatever a desk acknowledged is on its own disk.
 */
export async function startPeer(options: PeerRuntimeOptions): Promise<PeerRuntime> {
  const { log } = options;
  const desk = await openParts(options);
  const { deskId, certificate, timing, feed, store, book, server, me } = desk;
  const onKeyChanged = () => {
    desk.keyChanged = true;
    feed.notify();
  };
  const { connect, refused, trusted } = createConnector({ me, timing, book, log, onKeyChanged });
  const ctx: DeskContext = { log, store, me, timing, book, connect, announce: (changes) => server.announce(changes) };
  const roles = (desk.roles = createRoles(ctx, roleHooks(desk, trusted)));
  const deskServer = await listen(desk, roles, refused);
  const stopUpkeep = startUpkeep(desk, roles);
  const discovery = watchLan(desk, roles);
  const listening = setTimeout(() => void roles.start(), timing.listenMs);

  let closing: Promise<void> | null = null;
  const runtime: PeerRuntime = {
    deskId,
    port: desk.port,
    deskPort: desk.deskPort,
    server,
    store,
    certificate,
    calendar: () => desk.calendar,
    browserToken: () => desk.secrets.browserToken,
    onState: feed.subscribe,
    state: () => stateOf(desk),
    inviteTargets() {
      const host = roles.host();
      const self = { deskId, addresses: lanAddresses(), deskPort: desk.deskPort };
      return host ? [{ deskId: host.deskId, addresses: host.addresses, deskPort: host.deskPort }, self] : [self];
    },
    changeKey: () => changeKey(desk),
    close() {
      closing ??= (async () => {
        clearTimeout(listening);
        stopUpkeep();
        if (roles.inSync()) book.markInSync();
        presence.close();
        await roles.close();
        await discovery.close();
        await deskServer.close();
        await server.close();
        await Promise.all([store.close(), book.close()]);
      })();
      return closing;
    },
  };
  // Who is online, for this desk's own pages and for browsers on it: names from the host's list.
  const presence = startPresence(runtime, options.deskName);
  return runtime;
}

/** Opens what a desk is made of: its certificate, its store, its book of desks, and its live server (not listening yet). */
async function openParts(options: PeerRuntimeOptions): Promise<PeerParts> {
  const { log } = options;
  // Filled in last. The clock reads it from the start (the store stamps while it opens), the rest once the desk runs.
  let desk: PeerParts | undefined;
  const certificate = await loadOrCreateDeskCertificate(options.identityDir ?? options.dataDir, log);
  const calendar = { ...options.calendar };
  const secrets = calendarSecrets(calendar.joinKey);
  const timing: Timing = {
    ...defaultTiming(() => Date.now() + offsetOf(desk)),
    ...(options.keepDeletionsDays !== undefined && { keepDeletionsMs: options.keepDeletionsDays * 86_400_000 }),
    ...options.timing,
  };
  const feed = createFeed(() => stateOf(desk!));
  // A full disk is news for the person at this desk: the status says so, and says when it is over.
  const store = await createLowStore({ dir: options.dataDir, log, now: timing.now, onStorage: () => feed.notify() });
  const book = await openDeskBook(options.dataDir, certificate.deskId, log);
  const auth = createSwitchableAuth(secrets.browserToken);
  const server = createLiveServer({
    store,
    auth,
    log,
    pageDir: options.pageDir,
    tls: certificate,
    onLocalChanges: (c) => desk?.roles?.local(c),
    routes: (localChanges) => [
      ...(options.routes ?? []),
      calendarAppRoutes({ store, auth, log, onChanges: localChanges, publicBaseUrl: () => `https://${lanAddresses()[0] ?? '127.0.0.1'}:${desk!.port}` }),
    ],
  });
  const me: LinkIdentity = {
    cert: certificate,
    calendar: () => ({ id: desk!.calendar.id, deskSecret: desk!.secrets.deskSecret, keyGen: desk!.calendar.keyGen }),
    info: () => infoOf(desk!),
  };
  desk = { options, deskId: certificate.deskId, certificate, timing, feed, store, book, auth, server, me, calendar, secrets, keyChanged: false, clockSkewed: false, lostEdits: [], port: 0, deskPort: 0 };
  return desk;
}

/** The host's clock minus this desk's, as the roles know it (0 until then). */
const offsetOf = (desk: PeerParts | undefined) => desk?.roles?.clockOffset() ?? 0;

/** What this desk tells a desk that has proven the key. */
function infoOf(desk: PeerParts): DeskInfo {
  const roles = desk.roles!;
  const host = roles.host();
  return {
    deskId: desk.deskId,
    name: desk.options.deskName,
    role: roles.role(),
    host: host && { deskId: host.deskId, addresses: host.addresses, deskPort: host.deskPort },
    addresses: lanAddresses(),
    deskPort: desk.deskPort,
    webPort: desk.port,
    revision: roles.following()?.hostRevision() ?? desk.store.revision(),
    inSyncAt: desk.book.inSyncAt(),
  };
}

/** What the roles ask of the runtime, and tell it. */
function roleHooks(desk: PeerParts, trusted: (address: string) => boolean): RoleHooks {
  const { options, feed, store, book, server } = desk;
  const { log } = options;
  return {
    onRole: (event) => options.onRole?.(event),
    changed: () => {
      announce(desk);
      feed.notify();
    },
    targets: () => [
      ...(options.invite ?? []),
      ...desk.discovery!.hints().filter((h) => h.calendarId === desk.calendar.id && trusted(h.address)).map(hintTarget),
      ...book.all(),
    ],
    adoptKey: (key, keyGen) => adoptKey(desk, key, keyGen),
    changeKey: () => changeKey(desk),
    mayHost: () => !desk.keyChanged,
    hosting() {
      // A calendar gets its host's time zone once, when none is stored (a new calendar, or one from before zones).
      ensureCalendarZone(store, { onChanges: (changes) => (server.announce(changes), desk.roles!.local(changes)) }).catch((err) =>
        log.warn(`could not set the calendar's time zone: ${(err as Error).message}`),
      );
    },
    lostEdits(titles) {
      desk.lostEdits = titles;
      log.warn(`while this desk was away, ${titles.length} of its changes were to records deleted on other desks; they were not brought back: ${titles.map((t) => `"${printable(t, 60)}"`).join(', ')}`);
      feed.notify();
    },
    inSync: () => book.markInSync(),
    clock() {
      // Worth a word only when this desk's clock crosses the minute that stamps are allowed to be off.
      const skewed = Math.abs(offsetOf(desk)) > MAX_STAMP_AHEAD_MS;
      if (skewed !== desk.clockSkewed) {
        desk.clockSkewed = skewed;
        feed.notify();
      }
    },
  };
}

/** Takes a newer key (handed on by the host, or made here): earlier invites stop working. */
async function adoptKey(desk: PeerParts, key: string, keyGen: number) {
  if (keyGen <= desk.calendar.keyGen) return;
  checkJoinKey(key);
  const next = { ...desk.calendar, joinKey: key, keyGen };
  await desk.options.saveCalendar(next);
  desk.calendar = next;
  desk.secrets = calendarSecrets(key);
  desk.auth.swap(desk.secrets.browserToken);
  desk.keyChanged = false;
  desk.options.log.info(`the calendar's key was changed (generation ${keyGen}): earlier invites no longer work`);
  desk.feed.notify();
}

/** A new key: a host (or a desk alone) makes it and gives it to its followers; a follower asks its host for one. */
async function changeKey(desk: PeerParts): Promise<CalendarConfig> {
  const roles = desk.roles!;
  if (roles.role() === 'host' || !roles.following()) {
    const keyGen = desk.calendar.keyGen + 1;
    await adoptKey(desk, newJoinKey(), keyGen);
    const { told, failed } = await roles.rekeyFollowers(desk.calendar.joinKey, keyGen);
    desk.options.log.info(`gave the new key to ${told} desk${told === 1 ? '' : 's'}${failed ? `; ${failed} did not answer and need a new invite` : ''}`);
  } else {
    await roles.requestRekey();
  }
  return desk.calendar;
}

/** The web port, then the desk port (default: the next one); if either fails, everything opened is closed again. */
async function listen(desk: PeerParts, roles: Roles, refused: ReturnType<typeof createConnector>['refused']): Promise<DeskServer> {
  const { options, server } = desk;
  try {
    ({ port: desk.port } = await server.listen(options.port, options.bind));
    const deskServer = await startDeskServer({
      port: options.deskPort ?? (options.port === 0 ? 0 : desk.port + 1),
      bind: options.bind,
      me: desk.me,
      timing: desk.timing,
      log: options.log,
      onChannel: (channel) => roles.accept(channel),
      onRefused: (kind, who, address) => refused(kind, who, address, `it tried to connect and failed: ${kind}`),
    });
    desk.deskPort = deskServer.port;
    return deskServer;
  } catch (err) {
    await server.close();
    await Promise.all([desk.store.close(), desk.book.close()]);
    throw err;
  }
}

/** Deletions older than the calendar remembers are forgotten here too; while in sync, this desk notes it. Returns the stop. */
function startUpkeep(desk: PeerParts, roles: Roles): () => void {
  const { store, book, timing, options: { log } } = desk;
  const collect = () => {
    const gone = store.collectTombstones(timing.now() - timing.keepDeletionsMs);
    if (gone > 0) log.info(`forgot ${gone} deletions older than ${Math.round(timing.keepDeletionsMs / 86_400_000)} days`);
  };
  collect();
  const upkeep = setInterval(() => {
    if (roles.inSync()) book.markInSync();
    collect();
  }, Math.min(timing.keepDeletionsMs / 4, 10 * 60_000));
  upkeep.unref();
  return () => clearInterval(upkeep);
}

/** mDNS: this desk announced; desks of this calendar that run an older version reported once; another host of it met. */
function watchLan(desk: PeerParts, roles: Roles): Discovery {
  const { deskId, options: { log } } = desk;
  const discovery = (desk.discovery = createDiscovery({ port: desk.deskPort, log }));
  const reportedOutdated = new Set<string>();
  discovery.onChange(() => {
    for (const old of discovery.outdated()) {
      if (old.calendarId !== desk.calendar.id || reportedOutdated.has(`${old.address}/${old.name}`)) continue;
      reportedOutdated.add(`${old.address}/${old.name}`);
      log.warn(`desk ${old.name} at ${old.address} runs an older LAN Scheduler (protocol ${old.version}): update it to share this calendar`);
    }
    for (const h of discovery.hints()) {
      if (h.calendarId === desk.calendar.id && h.role === 'host' && h.deskId !== deskId) roles.hostSeen(hintTarget(h));
    }
    desk.feed.notify();
  });
  announce(desk);
  return discovery;
}

const announce = (desk: PeerParts) =>
  desk.discovery!.announce({ calendarId: desk.calendar.id, calendarName: desk.calendar.name, deskId: desk.deskId, role: desk.roles!.role(), webPort: desk.port });

/** The desk as its person sees it: its role and host, who is online, and what needs their attention. */
function stateOf(desk: PeerParts): PeerState {
  const roles = desk.roles!;
  const discovery = desk.discovery!;
  const { deskId, calendar } = desk;
  const { deskName } = desk.options;
  const host = roles.host();
  const others = new Map<string, string>();
  for (const h of discovery.hints()) if (h.calendarId !== calendar.id) others.set(h.calendarId, h.calendarName);
  const offsetMs = roles.clockOffset();
  return {
    role: roles.role(),
    deskId,
    name: deskName,
    calendar: { id: calendar.id, name: calendar.name },
    host: host && { deskId: host.deskId, name: host.name, address: host.addresses[0] ?? '', webPort: host.webPort },
    desks: [
      { deskId, name: deskName, role: roles.role(), self: true },
      ...roles.desks().filter((d) => d.deskId !== deskId).map((d) => ({ deskId: d.deskId, name: d.name, role: d.role, self: false })),
    ],
    otherCalendars: [...others].map(([id, name]) => ({ id, name })),
    outdated: discovery.outdated().filter((o) => o.calendarId === calendar.id).map(({ name, address, version }) => ({ name, address, version })),
    clockSkewMs: offsetMs === null ? null : Math.round(-offsetMs),
    keyChanged: desk.keyChanged,
    fingerprint: desk.certificate.fingerprint,
    storage: desk.store.storage(),
    lostEdits: desk.lostEdits,
  };
}
