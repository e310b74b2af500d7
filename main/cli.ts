import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostCommands, runCommand, type Command } from './cliCommands.js';
import { printAccess, runDesk, stopOnSignals } from './cliDesk.js';
import { controlRoutes, newControlSecret, writeControlFileOrSay } from './control.js';
import { startHost } from './host.js';
import type { Store } from './store/types.js';
import { defaultDataDir, loadOrCreateToken, reachableHost } from './hostFiles.js';
import { consoleLogger } from './log.js';
import { loadOrCreateDeskCertificate } from './trust/certificate.js';
import { browserLink, urlHost } from './trust/invite.js';
import { joinKeyProblem } from './trust/keys.js';

const usage = `usage: npm run host -- [--port 3210] [--data-dir DIR] [--token SECRET] [--bind 0.0.0.0]
       npm run host -- --advertise [--calendar NAME] [--join-key KEY | --invite INVITE] [--name NAME]
                       [--port 3210] [--desk-port 3211] [--data-dir DIR] [--keep-deletions-days 90]
       npm run host -- --change-key [--data-dir DIR]      (a desk running on DIR makes and hands out a new key)
       npm run host -- --backup FILE [--data-dir DIR]     (a consistent copy, while the host runs or not)
       npm run host -- --restore FILE [--data-dir DIR]    (starts an empty data folder from a backup)
       npm run host -- --import FILE.ics [--into CALENDAR] [--data-dir DIR]   (into the host running on DIR)`;

const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};

function parse() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: '3210' },
        'desk-port': { type: 'string' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        bind: { type: 'string', default: '0.0.0.0' },
        advertise: { type: 'boolean', default: false },
        calendar: { type: 'string' },
        'join-key': { type: 'string' },
        invite: { type: 'string' },
        name: { type: 'string' },
        'keep-deletions-days': { type: 'string' },
        'change-key': { type: 'boolean', default: false },
        backup: { type: 'string' },
        restore: { type: 'string' },
        import: { type: 'string' },
        into: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

const portOf = (value: string | undefined, flag: string) => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${flag} must be a port number, not ${value}`);
  return port;
};

async function main() {
  const values = parse();
  if (values.help) return console.log(usage);
  const port = portOf(values.port, '--port');
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const log = consoleLogger();
  const commands: Command[] = [
    ...(values['change-key'] ? [{ kind: 'change-key' as const }] : []),
    ...(values.backup !== undefined ? [{ kind: 'backup' as const, file: values.backup }] : []),
    ...(values.restore !== undefined ? [{ kind: 'restore' as const, file: values.restore }] : []),
    ...(values.import !== undefined ? [{ kind: 'import' as const, file: values.import, into: values.into }] : []),
  ];
  if (commands.length > 1) fail('give one of --change-key, --backup, --restore and --import at a time');
  if (values.into !== undefined && values.import === undefined) fail('--into goes with --import');
  if (commands[0]) return runCommand(commands[0], dataDir);

  if (values.token !== undefined && values.token.length < 8) fail('--token must be at least 8 characters');
  const keyProblem = values['join-key'] === undefined ? undefined : joinKeyProblem(values['join-key']);
  if (keyProblem) fail(`--join-key: ${keyProblem}. Keys come from an invite (or leave it out to make a new calendar).`);
  if (values['join-key'] !== undefined && values.invite !== undefined) fail('give --join-key or --invite, not both');
  if (!values.advertise && (values.calendar ?? values['join-key'] ?? values.invite ?? values.name ?? values['desk-port'] ?? values['keep-deletions-days']) !== undefined) {
    fail('--calendar, --join-key, --invite, --name, --desk-port and --keep-deletions-days go with --advertise');
  }
  if (values.advertise && values.token !== undefined) fail('with --advertise the token comes from the join key; leave out --token');
  const bind = values.bind!;
  const pageDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
  if (values.advertise) {
    const deskPort = values['desk-port'] === undefined ? undefined : portOf(values['desk-port'], '--desk-port');
    const days = values['keep-deletions-days'] === undefined ? undefined : Number(values['keep-deletions-days']);
    if (days !== undefined && !(days > 0 && days <= 36_500)) fail('--keep-deletions-days must be a number of days, more than 0');
    return runDesk({ dataDir, port, deskPort, bind, log, pageDir, name: values.calendar, joinKey: values['join-key'], invite: values.invite, deskName: values.name, keepDeletionsDays: days });
  }

  let token: string | undefined = values.token;
  if (!token) {
    const kept = await loadOrCreateToken(dataDir);
    token = kept.token;
    log.info(kept.created ? `created a new token, kept in ${join(dataDir, 'token')}` : `using the token kept in ${join(dataDir, 'token')}`);
  }
  const loopback = /^(127\.|::1$|localhost$)/.test(bind);
  // The LAN gets HTTPS with this host's own certificate; 127.0.0.1 alone needs none.
  const tls = loopback ? null : await loadOrCreateDeskCertificate(dataDir, log);
  const secret = newControlSecret();
  const address = reachableHost(bind);
  let base = '';
  let started: { store: Store; port: number } | null = null;
  const control = hostCommands({ store: () => started!.store, port: () => started!.port, token: () => token! });
  const host = await startHost({
    dataDir,
    token,
    log,
    port,
    bind,
    pageDir,
    tls,
    publicBaseUrl: () => base,
    // The host exists once startHost is done; commands only come after the control file is written.
    routes: [controlRoutes(secret, control)],
  });
  started = host;
  const controlFile = await writeControlFileOrSay(log, dataDir, host.port, secret);
  base = `${tls ? 'https' : 'http'}://${urlHost(address)}:${host.port}`;
  const invite = tls ? browserLink(address, host.port, token) : `${base}/#token=${encodeURIComponent(token)}`;
  log.info(`data folder: ${dataDir}`);
  log.info(`LAN Scheduler host ready at ${base}/ · invite for browsers: ${invite}`);
  printAccess(log, { who: 'host', fingerprint: tls?.fingerprint ?? null, base, token, store: host.store });
  stopOnSignals(log, async () => {
    await host.close();
    await controlFile.remove();
  });
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
