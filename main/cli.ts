import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHost } from './host.js';
import { defaultDataDir, loadOrCreateToken, reachableHost } from './hostFiles.js';
import { consoleLogger } from './log.js';

const usage = `usage: npm run host -- [--port 3210] [--data-dir DIR] [--token SECRET] [--bind 0.0.0.0]`;

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '3210' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        bind: { type: 'string', default: '0.0.0.0' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number, not ${values.port}\n${usage}`);
    process.exit(2);
  }
  if (values.token !== undefined && values.token.length < 8) {
    console.error('--token must be at least 8 characters');
    process.exit(2);
  }
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const log = consoleLogger();
  let token = values.token;
  if (!token) {
    const kept = await loadOrCreateToken(dataDir);
    token = kept.token;
    log.info(kept.created ? `created a new token, kept in ${join(dataDir, 'token')}` : `using the token kept in ${join(dataDir, 'token')}`);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const host = await startHost({ dataDir, token, log, port, bind: values.bind, pageDir: join(here, '..', 'renderer') });
  const base = `http://${reachableHost(values.bind!)}:${host.port}`;
  log.info(`data folder: ${dataDir}`);
  log.info(`LAN Scheduler host ready at ${base}/ · invite for browsers: ${base}/#token=${encodeURIComponent(token)}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: saving and stopping`);
    host.close().then(
      () => process.exit(0),
      (err) => {
        log.error(`could not stop cleanly: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
