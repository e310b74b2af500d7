/**
 * Soak: many sockets (127.0.0.1 only), a share of them reconnecting every second, under a steady
 * write load, for minutes. Passes when the host's memory stays level (RSS at the end within 10%
 * of RSS after the first minute), no acknowledged write is missing, and no delivery was lost or
 * doubled. The host runs in a child process (this script with --serve), so its RSS is its own.
 * Progress goes to stderr; the result is one JSON line on stdout; the exit code says pass or fail.
 *
 *   npm run soak -- [--minutes 10] [--sockets 1000] [--reconnect 0.1] [--writes 20]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../main/log.js';
import { events } from '../../main/server/entities.js';
import { validateRecord } from '../../main/server/validate.js';
import { createLowStore } from '../../main/store/lowStore.js';
import { createRestClient } from './benchClients.js';
import { mib, until } from './benchFanout.js';
import { eventBody, seedEvents, SERVE_FLAG, serveBenchHost, spawnBenchHost } from './benchHost.js';
import { createFollower, createWriteLoad, noDeliveries, type DeliveryCounts, type Follower } from './soakClients.js';

export interface SoakOptions {
  minutes: number;
  sockets: number;
  /** The share of sockets that reconnect every second. */
  reconnect: number;
  writesPerSecond: number;
  progress?(message: string): void;
}

/** The host under soak: in a child process for the script, in process for the short test. */
export interface SoakHost {
  port: number;
  token: string;
  /** The host process's resident memory after a garbage collection, in bytes. */
  rss(): Promise<number>;
  close(): Promise<void>;
}

export interface SoakResult extends DeliveryCounts {
  pass: boolean;
  minutes: number;
  sockets: number;
  writes: number;
  writeFailures: string[];
  missingWrites: string[];
  /** Sockets that did not hold every change once the writes stopped. */
  behind: number;
  rssBaselineMb: number;
  rssEndMb: number;
  rssGrowthPct: number;
}

/** Events in the calendar and changes in its log before the soak starts: the log is as full as it gets. */
const STEADY_EVENTS = 500;
const PRELOAD_CHANGES = 10_000;

/** Fills a data folder with the calendar the soak writes to, straight through the store. */
export async function preloadSoakCalendar(dataDir: string): Promise<void> {
  const ids = await seedEvents(dataDir, STEADY_EVENTS, (i) => eventBody(`preload-${i}`));
  const store = await createLowStore({ dir: dataDir, log: silentLogger });
  const record = (id: string, text: string) => ({ ...validateRecord(events.spec, eventBody(text)), id });
  for (let i = STEADY_EVENTS; i < PRELOAD_CHANGES; i += ids.length) {
    await Promise.all(ids.map((id, j) => store.commit([{ entity: 'events', op: 'update', record: record(id, `preload-${i + j}`) }])));
  }
  await store.close();
}

export async function runSoak(host: SoakHost, options: SoakOptions): Promise<SoakResult> {
  const progress = options.progress ?? (() => undefined);
  const rest = createRestClient(host.port, host.token);
  const counts = noDeliveries();
  const followers: Follower[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const hs = (await rest.json('GET', '/api/v1')).body;
    const { revision, storeId } = hs.data as { revision: number; storeId: string };
    const url = `ws://127.0.0.1:${host.port}/api/v1?token=${encodeURIComponent(hs.key)}&ws=1`;
    for (let i = 0; i < options.sockets; i++) {
      const follower = createFollower(url, storeId, revision, counts);
      followers.push(follower);
      follower.connect();
      if (i % 50 === 49) await until('every socket to be subscribed', () => followers.every((f) => f.isLive()), 30_000);
    }
    await until('every socket to be subscribed', () => followers.every((f) => f.isLive()), 30_000);
    progress(`${options.sockets} sockets live; writing ${options.writesPerSecond}/s for ${options.minutes} min`);

    const load = createWriteLoad(rest, (await rest.json('GET', '/events')).body, 'soak');
    const tick = 50;
    let owed = 0;
    timers.push(
      setInterval(() => {
        owed += (options.writesPerSecond * tick) / 1000;
        load.write(Math.floor(owed));
        owed -= Math.floor(owed);
      }, tick),
    );
    timers.push(
      setInterval(() => {
        const share = Math.max(1, Math.round(options.sockets * options.reconnect));
        for (let i = 0; i < share; i++) followers[Math.floor(Math.random() * followers.length)]!.reconnect(i % 2 === 0);
      }, 1000),
    );

    const ms = options.minutes * 60_000;
    // After the first minute, or a third of a shorter run.
    const baselineAt = Math.min(60_000, ms / 3);
    await new Promise((resolve) => setTimeout(resolve, baselineAt));
    const rssBaseline = await host.rss();
    progress(`RSS after ${Math.round(baselineAt / 1000)} s: ${mib(rssBaseline)} MB`);
    await new Promise((resolve) => setTimeout(resolve, ms - baselineAt));
    for (const timer of timers) clearInterval(timer);
    await load.settled();

    const final = (await rest.json('GET', '/api/v1')).body.data.revision as number;
    // Up to 30 s for every socket to catch up; the ones that did not are counted as behind.
    await until('every socket to catch up', () => followers.every((f) => f.isLive() && f.have() >= final), 30_000).catch(() => undefined);
    const behind = followers.filter((f) => f.have() < final).length;
    const found = new Map(((await rest.json('GET', '/events')).body as { id: string; text: string }[]).map((e) => [e.id, e.text]));
    const missingWrites = load.missing(found);
    for (const f of followers) f.close();
    const rssEnd = await host.rss();
    const growth = (100 * (rssEnd - rssBaseline)) / rssBaseline;
    const pass = growth <= 10 && missingWrites.length === 0 && load.failures.length === 0 && behind === 0 && counts.lost === 0 && counts.doubled === 0 && counts.reloads === 0 && counts.unexpectedCloses === 0;
    return {
      pass,
      minutes: options.minutes,
      sockets: options.sockets,
      writes: load.acks(),
      ...counts,
      writeFailures: load.failures.slice(0, 10),
      missingWrites: missingWrites.slice(0, 10),
      behind,
      rssBaselineMb: mib(rssBaseline),
      rssEndMb: mib(rssEnd),
      rssGrowthPct: Math.round(growth * 10) / 10,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const f of followers) f.close();
    rest.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      sockets: { type: 'string', default: '1000' },
      reconnect: { type: 'string', default: '0.1' },
      writes: { type: 'string', default: '20' },
    },
  });
  const options: SoakOptions = {
    minutes: Number(values.minutes),
    sockets: Number(values.sockets),
    reconnect: Number(values.reconnect),
    writesPerSecond: Number(values.writes),
    progress: (m) => process.stderr.write(`soak: ${m}\n`),
  };
  if (!(options.minutes > 0 && options.sockets > 0 && options.reconnect >= 0 && options.writesPerSecond > 0)) {
    throw new TypeError('usage: npm run soak -- [--minutes 10] [--sockets 1000] [--reconnect 0.1] [--writes 20]');
  }
  const dir = await mkdtemp(join(tmpdir(), 'lansched-soak-'));
  const token = randomBytes(16).toString('hex');
  await preloadSoakCalendar(dir);
  // The host in a child process of its own, so that the RSS measured is the host's alone.
  const host = await spawnBenchHost(fileURLToPath(import.meta.url), { dataDir: dir, token });
  try {
    const result = await runSoak({ port: host.port, token, rss: () => host.rss(), close: () => host.close() }, options);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.pass ? 0 : 1;
  } finally {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = process.argv[2] === SERVE_FLAG ? serveBenchHost(process.argv.slice(3)) : main();
  run.catch((err) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
