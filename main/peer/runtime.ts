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
import { startDeskServer, type LinkIdentity } from './deskLink.js';
import { createDiscovery, hintTarget, printable, type Discovery } from './discovery.js';
import { createFeed } from './feed.js';
import { startPresence } from './presence.js';
import { createRoles, type RoleEvent, type Roles } from './roles.js';
import type { PeerRuntime, PeerRuntimeOptions } from './runtimeTypes.js';

export type { RoleEvent };
export type { CalendarConfig, PeerRuntime, PeerRuntimeOptions, PeerState } from './runtimeTypes.js';

/**
 * One desk of a calendar: a live server over its own store, a desk port where desks that prove the
 * key talk to it, mDNS hints of where others might be, and the roles (see roles.ts). Every desk
 * writes to its own store first, so whatever a desk acknowledged is on its own disk.
 */
export async function startPeer(options: PeerRuntimeOptions): Promise<PeerRuntime> {
  const { log } = options;
  const certificate = await loadOrCreateDeskCertificate(options.identityDir ?? options.dataDir, log);
  const deskId = certificate.deskId;
  let calendar = { ...options.calendar };
  let secrets = calendarSecrets(calendar.joinKey);
  let keyChanged = false;
  // The roles come last (they need everything below), but the clock asks them for the host's offset.
  let roles: Roles | undefined;
  const timing: Timing = {
    ...defaultTiming(() => Date.now() + offset()),
    ...(options.keepDeletionsDays !== undefined && { keepDeletionsMs: options.keepDeletionsDays * 86_400_000 }),
    ...options.timing,
  };
  const feed = createFeed(() => runtime.state());
  // A full disk is news for the person at this desk: the status says so, and says when it is over.
  const store = await createLowStore({ dir: options.dataDir, log, now: timing.now, onStorage: () => feed.notify() });
  const book = await openDeskBook(options.dataDir, deskId, log);
  const auth = createSwitchableAuth(secrets.browserToken);
  const server = createLiveServer({
    store,
    auth,
    log,
    pageDir: options.pageDir,
    tls: certificate,
    onLocalChanges: (c) => roles?.local(c),
    routes: (localChanges) => [
      ...(options.routes ?? []),
      calendarAppRoutes({ store, auth, log, onChanges: localChanges, publicBaseUrl: () => `https://${lanAddresses()[0] ?? '127.0.0.1'}:${port}` }),
    ],
  });

  const info = (): DeskInfo => {
    const host = roles!.host();
    return {
      deskId,
      name: options.deskName,
      role: roles!.role(),
      host: host && { deskId: host.deskId, addresses: host.addresses, deskPort: host.deskPort },
      addresses: lanAddresses(),
      deskPort,
      webPort: port,
      revision: roles!.following()?.hostRevision() ?? store.revision(),
      inSyncAt: book.inSyncAt(),
    };
  };
  const me: LinkIdentity = { cert: certificate, calendar: () => ({ id: calendar.id, deskSecret: secrets.deskSecret, keyGen: calendar.keyGen }), info };
  function offset(): number {
    return roles?.clockOffset() ?? 0;
  }

  const { connect, refused, trusted } = createConnector({
    me,
    timing,
    book,
    log,
    onKeyChanged: () => {
      keyChanged = true;
      feed.notify();
    },
  });

  const ctx: DeskContext = { log, store, me, timing, book, connect, announce: (changes) => server.announce(changes) };
  const active = (roles = createRoles(ctx, {
    onRole: (event) => options.onRole?.(event),
    changed: () => {
      announce();
      feed.notify();
    },
    targets: () => [
      ...(options.invite ?? []),
      ...discovery.hints().filter((h) => h.calendarId === calendar.id && trusted(h.address)).map(hintTarget),
      ...book.all(),
    ],
    adoptKey,
    changeKey: () => runtime.changeKey(),
    mayHost: () => !keyChanged,
    hosting() {
      // A calendar gets its host's time zone once, when none is stored (a new calendar, or one from before zones).
      ensureCalendarZone(store, { onChanges: (changes) => (server.announce(changes), active.local(changes)) }).catch((err) =>
        log.warn(`could not set the calendar's time zone: ${(err as Error).message}`),
      );
    },
    lostEdits(titles) {
      lostEdits = titles;
      log.warn(`while this desk was away, ${titles.length} of its changes were to records deleted on other desks; they were not brought back: ${titles.map((t) => `"${printable(t, 60)}"`).join(', ')}`);
      feed.notify();
    },
    inSync: () => book.markInSync(),
    clock() {
      // Worth a word only when this desk's clock crosses the minute that stamps are allowed to be off.
      const skewed = Math.abs(offset()) > MAX_STAMP_AHEAD_MS;
      if (skewed !== clockSkewed) {
        clockSkewed = skewed;
        feed.notify();
      }
    },
  }));
  let clockSkewed = false;
  let lostEdits: string[] = [];

  let port: number;
  try {
    ({ port } = await server.listen(options.port, options.bind));
  } catch (err) {
    await Promise.all([store.close(), book.close()]);
    throw err;
  }
  const deskServer = await startDeskServer({
    port: options.deskPort ?? (options.port === 0 ? 0 : port + 1),
    bind: options.bind,
    me,
    timing,
    log,
    onChannel: (channel) => active.accept(channel),
    onRefused: (kind, who, address) => refused(kind, who, address, `it tried to connect and failed: ${kind}`),
  }).catch(async (err) => {
    await server.close();
    await Promise.all([store.close(), book.close()]);
    throw err;
  });
  const deskPort = deskServer.port;
  // Deletions older than the calendar remembers are forgotten here too; while in sync, this desk notes it.
  const collect = () => {
    const gone = store.collectTombstones(timing.now() - timing.keepDeletionsMs);
    if (gone > 0) log.info(`forgot ${gone} deletions older than ${Math.round(timing.keepDeletionsMs / 86_400_000)} days`);
  };
  collect();
  const upkeep = setInterval(() => {
    if (active.inSync()) book.markInSync();
    collect();
  }, Math.min(timing.keepDeletionsMs / 4, 10 * 60_000));
  upkeep.unref();

  const discovery: Discovery = createDiscovery({ port: deskPort, log });
  const announce = () => discovery.announce({ calendarId: calendar.id, calendarName: calendar.name, deskId, role: active.role(), webPort: port });
  const reportedOutdated = new Set<string>();
  discovery.onChange(() => {
    for (const old of discovery.outdated()) {
      if (old.calendarId !== calendar.id || reportedOutdated.has(`${old.address}/${old.name}`)) continue;
      reportedOutdated.add(`${old.address}/${old.name}`);
      log.warn(`desk ${old.name} at ${old.address} runs an older LAN Scheduler (protocol ${old.version}): update it to share this calendar`);
    }
    for (const h of discovery.hints()) {
      if (h.calendarId === calendar.id && h.role === 'host' && h.deskId !== deskId) active.hostSeen(hintTarget(h));
    }
    feed.notify();
  });
  announce();
  const listening = setTimeout(() => void active.start(), timing.listenMs);

  async function adoptKey(key: string, keyGen: number) {
    if (keyGen <= calendar.keyGen) return;
    checkJoinKey(key);
    const next = { ...calendar, joinKey: key, keyGen };
    await options.saveCalendar(next);
    calendar = next;
    secrets = calendarSecrets(key);
    auth.swap(secrets.browserToken);
    keyChanged = false;
    log.info(`the calendar's key was changed (generation ${keyGen}): earlier invites no longer work`);
    feed.notify();
  }

  let closing: Promise<void> | null = null;
  const runtime: PeerRuntime = {
    deskId,
    port,
    deskPort,
    server,
    store,
    certificate,
    calendar: () => calendar,
    browserToken: () => secrets.browserToken,
    onState: feed.subscribe,
    state() {
      const host = active.host();
      const listed = active.desks();
      const others = new Map<string, string>();
      for (const h of discovery.hints()) if (h.calendarId !== calendar.id) others.set(h.calendarId, h.calendarName);
      const offsetMs = active.clockOffset();
      return {
        role: active.role(),
        deskId,
        name: options.deskName,
        calendar: { id: calendar.id, name: calendar.name },
        host: host && { deskId: host.deskId, name: host.name, address: host.addresses[0] ?? '', webPort: host.webPort },
        desks: [
          { deskId, name: options.deskName, role: active.role(), self: true },
          ...listed.filter((d) => d.deskId !== deskId).map((d) => ({ deskId: d.deskId, name: d.name, role: d.role, self: false })),
        ],
        otherCalendars: [...others].map(([id, name]) => ({ id, name })),
        outdated: discovery.outdated().filter((o) => o.calendarId === calendar.id).map(({ name, address, version }) => ({ name, address, version })),
        clockSkewMs: offsetMs === null ? null : Math.round(-offsetMs),
        keyChanged,
        fingerprint: certificate.fingerprint,
        storage: store.storage(),
        lostEdits,
      };
    },
    inviteTargets() {
      const host = active.host();
      const self = { deskId, addresses: lanAddresses(), deskPort };
      return host ? [{ deskId: host.deskId, addresses: host.addresses, deskPort: host.deskPort }, self] : [self];
    },
    async changeKey() {
      if (active.role() === 'host' || !active.following()) {
        const keyGen = calendar.keyGen + 1;
        await adoptKey(newJoinKey(), keyGen);
        const { told, failed } = await active.rekeyFollowers(calendar.joinKey, keyGen);
        log.info(`gave the new key to ${told} desk${told === 1 ? '' : 's'}${failed ? `; ${failed} did not answer and need a new invite` : ''}`);
      } else {
        await active.requestRekey();
      }
      return calendar;
    },
    close() {
      closing ??= (async () => {
        clearTimeout(listening);
        clearInterval(upkeep);
        if (active.inSync()) book.markInSync();
        presence.close();
        await active.close();
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
