import { hostname } from 'node:os';
import { hostCommands } from './cliCommands.js';
import { controlRoutes, newControlSecret, writeControlFileOrSay } from './control.js';
import { feedUrls } from './dav/feed.js';
import { createTokenAuth } from './server/auth.js';
import { loadDesk, reachableHost, saveDesk } from './hostFiles.js';
import type { Logger } from './log.js';
import { createDiscovery, printable } from './peer/discovery.js';
import { calendarHintOf, findCalendarByKey } from './peer/probe.js';
import { startPeer, type CalendarConfig, type PeerRuntime, type RoleEvent } from './peer/runtime.js';
import { MAX_STAMP_AHEAD_MS } from './store/lowStore.js';
import type { Store } from './store/types.js';
import { loadOrCreateDeskCertificate } from './trust/certificate.js';
import { browserLink, formatDeskInvite, parseDeskInvite, urlHost, type DeskInvite } from './trust/invite.js';
import { newCalendarId, newJoinKey } from './trust/keys.js';

/** Stops on SIGINT or SIGTERM, once, with `stop` doing the saving (and, for a desk, the hand-over). */
export function stopOnSignals(log: Logger, stop: () => Promise<void>) {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: saving and stopping`);
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error(`could not stop cleanly: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

export interface DeskArgs {
  dataDir: string;
  port: number;
  deskPort?: number;
  bind: string;
  log: Logger;
  pageDir: string;
  name?: string;
  joinKey?: string;
  invite?: string;
  deskName?: string;
  keepDeletionsDays?: number;
}

class CliError extends Error {}

/** Which calendar a desk starts on: the one it has, the one an invite or a key names, or a new one. */
async function chooseCalendar(o: DeskArgs, kept: CalendarConfig | null): Promise<{ calendar: CalendarConfig; invite: DeskInvite | null; created: boolean }> {
  if (o.invite !== undefined) {
    let invite: DeskInvite;
    try {
      invite = parseDeskInvite(o.invite);
    } catch (err) {
      throw new CliError(`--invite: ${(err as Error).message}`);
    }
    const same = kept?.id === invite.calendar.id && kept.keyGen >= invite.calendar.keyGen;
    return { calendar: same ? kept! : invite.calendar, invite, created: false };
  }
  if (o.joinKey !== undefined) {
    if (kept?.joinKey === o.joinKey) return { calendar: kept, invite: null, created: false };
    // Only a key: the calendar it opens is found by asking each calendar on the LAN to take its proof.
    const cert = await loadOrCreateDeskCertificate(o.dataDir, o.log);
    const browse = createDiscovery({ port: 0, log: o.log });
    await new Promise((r) => setTimeout(r, 2500));
    const hints = browse.hints().map(calendarHintOf);
    await browse.close();
    const trial = await findCalendarByKey({ cert, joinKey: o.joinKey, hints, log: o.log });
    if (!trial.found) {
      throw new CliError(`--join-key: ${trial.why}. On a network that drops multicast, start with the whole invite (--invite); to start a new calendar, leave out --join-key.`);
    }
    return { calendar: { id: trial.found.id, name: trial.found.name || o.name || 'Office', joinKey: o.joinKey, keyGen: trial.found.keyGen }, invite: null, created: false };
  }
  if (kept) return { calendar: kept, invite: null, created: false };
  return { calendar: { id: newCalendarId(), name: o.name ?? 'Office', joinKey: newJoinKey(), keyGen: 0 }, invite: null, created: true };
}

/** A desk of a calendar on the LAN: finds its host or hosts, and prints every change of role. */
export async function runDesk(o: DeskArgs) {
  const { log } = o;
  const desk = await loadDesk(o.dataDir);
  if (desk.upgraded) log.info(`carried over ${o.dataDir}/desk.json from the previous version: same calendar, same key, same data`);
  let chosen: Awaited<ReturnType<typeof chooseCalendar>>;
  try {
    chosen = await chooseCalendar(o, desk.calendar);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  const { calendar, invite, created } = chosen;
  // Written only when it changed: a desk must start on a full disk too (it refuses writes, not reads).
  if (JSON.stringify(calendar) !== JSON.stringify(desk.calendar) || desk.upgraded) await saveDesk(o.dataDir, { version: 2, calendar });
  const secret = newControlSecret();
  let peer: PeerRuntime;
  const address = reachableHost(o.bind);
  const base = () => `https://${urlHost(address)}:${peer.port}`;
  const deskInvite = () => formatDeskInvite({ calendar: peer.calendar(), desks: peer.inviteTargets() });
  const roleLine = (event: RoleEvent) => {
    switch (event.kind) {
      case 'hosting':
        return `${event.takeover ? 'taking over: ' : ''}hosting "${printable(peer.calendar().name)}" at ${base()}/ · invite for browsers: ${browserLink(address, peer.port, peer.browserToken())}`;
      case 'joined':
        return `joined desk ${event.host.deskId.slice(0, 8)} at ${event.address}`;
      case 'host-lost':
        return `host ${event.host.slice(0, 8)} is gone; finding the next one`;
      case 'stepping-down':
        return `stepping down: desk ${event.host.slice(0, 8)} keeps hosting; merging into it`;
    }
  };
  peer = await startPeer({
    dataDir: o.dataDir,
    calendar,
    deskName: printable(o.deskName ?? hostname(), 64) || 'Desk',
    port: o.port,
    deskPort: o.deskPort,
    bind: o.bind,
    log,
    pageDir: o.pageDir,
    invite: invite?.desks,
    keepDeletionsDays: o.keepDeletionsDays,
    saveCalendar: (c) => saveDesk(o.dataDir, { version: 2, calendar: c }),
    routes: [
      controlRoutes(secret, {
        ...hostCommands({ store: () => peer.store, port: () => peer.port, token: () => peer.browserToken() }),
        'change-key': async () => {
          await peer.changeKey();
          return { deskInvite: deskInvite(), browserLink: browserLink(address, peer.port, peer.browserToken()) };
        },
      }),
    ],
    onRole: (event) => {
      log.info(roleLine(event));
      if (event.kind === 'hosting' || event.kind === 'joined') log.info(`invite for desks: ${deskInvite()}`);
    },
  });
  const control = await writeControlFileOrSay(log, o.dataDir, peer.port, secret);
  log.info(`LAN Scheduler desk ${peer.deskId} of "${printable(calendar.name)}" (calendar ${calendar.id}) listening at ${base()}/ (desks: port ${peer.deskPort}) with data in ${o.dataDir}`);
  printAccess(
    log,
    { who: 'desk', fingerprint: peer.certificate.fingerprint, base: base(), token: peer.browserToken(), store: peer.store },
    created ? `new calendar "${printable(calendar.name)}"; its key: ${calendar.joinKey}` : undefined,
  );
  reportOnce(peer, log);
  stopOnSignals(log, async () => {
    await peer.close();
    await control.remove();
  });
}

/**
 * How to reach the calendar from elsewhere, as a host or a desk prints it at start: the fingerprint
 * a browser's certificate warning should show (over https), then the read-only feed; `between`
 * is a line that goes between the two.
 */
export function printAccess(log: Logger, o: { who: 'host' | 'desk'; fingerprint: string | null; base: string; token: string; store: Store }, between?: string) {
  if (o.fingerprint) log.info(`browsers warn about this ${o.who}'s own certificate the first time: go on only if its SHA-256 fingerprint is ${o.fingerprint}`);
  if (between) log.info(between);
  log.info(`calendar feed (read-only, for Outlook, Apple Calendar, Thunderbird): ${feedUrls(o.base, createTokenAuth(o.token), o.store).all}`);
}

/** Lines for what a person should know once: other calendars, a key that changed, a clock that is off (desks that need an update the runtime reports itself). */
function reportOnce(peer: PeerRuntime, log: Logger) {
  const said = new Set<string>();
  const once = (key: string, say: () => void) => {
    if (said.has(key)) return;
    said.add(key);
    say();
  };
  peer.onState((state) => {
    for (const other of state.otherCalendars) once(`cal:${other.id}`, () => log.info(`another calendar on this network: "${printable(other.name)}" (calendar ${other.id}); join it with its key`));
    if (state.keyChanged) once('key', () => log.warn(`this calendar's key was changed while this desk was away: start it with a new invite (--invite)`));
    if (state.clockSkewMs !== null && Math.abs(state.clockSkewMs) > MAX_STAMP_AHEAD_MS) {
      once('clock', () => log.warn(`this desk's clock is ${Math.round(Math.abs(state.clockSkewMs!) / 60_000)} min ${state.clockSkewMs! > 0 ? 'fast' : 'slow'}: its changes are stamped with the host's time`));
    }
  });
}
