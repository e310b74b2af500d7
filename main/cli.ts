import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHost } from './host.js';
import { defaultDataDir, loadDesk, loadOrCreateToken, reachableHost, saveDesk } from './hostFiles.js';
import { consoleLogger, type Logger } from './log.js';
import { newJoinKey } from './peer/identity.js';
import { startPeer, type RoleEvent } from './peer/runtime.js';

const usage = `usage: npm run host -- [--port 3210] [--data-dir DIR] [--token SECRET] [--bind 0.0.0.0]
       npm run host -- --advertise [--calendar NAME] [--join-key KEY] [--port 3210] [--data-dir DIR]`;

const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};

function parse() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: '3210' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        bind: { type: 'string', default: '0.0.0.0' },
        advertise: { type: 'boolean', default: false },
        calendar: { type: 'string' },
        'join-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** Stops on SIGINT or SIGTERM, once, with `stop` doing the saving (and, for a desk, the hand-over). */
function stopOnSignals(log: Logger, stop: () => Promise<void>) {
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

async function main() {
  const values = parse();
  if (values.help) return console.log(usage);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not ${values.port}`);
  if (values.token !== undefined && values.token.length < 8) fail('--token must be at least 8 characters');
  if (values['join-key'] !== undefined && values['join-key'].length < 8) fail('--join-key must be at least 8 characters');
  if (!values.advertise && (values.calendar !== undefined || values['join-key'] !== undefined)) {
    fail('--calendar and --join-key go with --advertise');
  }
  if (values.advertise && values.token !== undefined) fail('with --advertise the token comes from the join key; leave out --token');
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const bind = values.bind!;
  const log = consoleLogger();
  const pageDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
  if (values.advertise) return runDesk({ dataDir, port, bind, log, pageDir, name: values.calendar, joinKey: values['join-key'] });

  let token = values.token;
  if (!token) {
    const kept = await loadOrCreateToken(dataDir);
    token = kept.token;
    log.info(kept.created ? `created a new token, kept in ${join(dataDir, 'token')}` : `using the token kept in ${join(dataDir, 'token')}`);
  }
  const host = await startHost({ dataDir, token, log, port, bind, pageDir });
  const base = `http://${reachableHost(bind)}:${host.port}`;
  log.info(`data folder: ${dataDir}`);
  log.info(`LAN Scheduler host ready at ${base}/ · invite for browsers: ${base}/#token=${encodeURIComponent(token)}`);
  stopOnSignals(log, () => host.close());
}

/** A desk of a calendar on the LAN: finds its host or hosts, and prints every change of role. */
async function runDesk(o: { dataDir: string; port: number; bind: string; log: Logger; pageDir: string; name?: string; joinKey?: string }) {
  const desk = await loadDesk(o.dataDir);
  const created = !o.joinKey && !desk.calendar;
  const calendar = {
    name: o.name ?? desk.calendar?.name ?? 'Office',
    joinKey: o.joinKey ?? desk.calendar?.joinKey ?? newJoinKey(),
  };
  await saveDesk(o.dataDir, { ...desk, calendar });
  const me = desk.peerId;
  const peer = await startPeer({
    dataDir: o.dataDir,
    peerId: me,
    calendar,
    port: o.port,
    bind: o.bind,
    log: o.log,
    pageDir: o.pageDir,
    onRole: (event) => o.log.info(roleLine(event)),
  });
  const base = `http://${reachableHost(o.bind)}:${peer.port}`;
  const roleLine = (event: RoleEvent) => {
    switch (event.kind) {
      case 'hosting':
        return `${event.takeover ? 'taking over: ' : ''}hosting "${calendar.name}" at ${base}/ · invite for browsers: ${base}/#token=${encodeURIComponent(peer.identity.token)}`;
      case 'joined':
        return `joined ${event.host.address}:${event.host.port} (desk ${event.host.peerId})`;
      case 'host-lost':
        return `host ${event.host} is gone; finding the next one`;
      case 'stepping-down':
        return `stepping down: ${event.host.address}:${event.host.port} (desk ${event.host.peerId}) keeps hosting; merging into it`;
    }
  };
  o.log.info(`LAN Scheduler desk ${me} of "${calendar.name}" (calendar ${peer.identity.id}) listening at ${base}/ with data in ${o.dataDir}`);
  // Calendars of other teams on the LAN: one could join them with their key.
  const listed = new Set<string>();
  peer.onState((state) => {
    for (const other of state.otherCalendars) {
      if (listed.has(other.id)) continue;
      listed.add(other.id);
      o.log.info(`another calendar on this network: "${other.name}" (calendar ${other.id}); join it with its key`);
    }
  });
  if (created) o.log.info(`new calendar; invite for desks: npm run host -- --advertise --calendar "${calendar.name}" --join-key ${calendar.joinKey}`);
  stopOnSignals(o.log, () => peer.close());
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
