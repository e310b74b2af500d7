/**
 * Live-update and storage benchmark (issue 11). The host runs in a child process (this script
 * with --serve) so its CPU time, write calls and memory are measured apart from the clients,
 * which run here. Progress goes to stderr; the result is one JSON line on stdout.
 *
 *   npm run bench [-- --runs 3] [--only rest,fanout,quiet,memory,tls,events50k,durable] [--window MS] [--quiet-sockets 500]
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fanoutRun, idleSocketMemory, mib, runMixed, seedPool, type IdPool } from './benchFanout.js';
import { createRestClient, type RestClient } from './benchClients.js';
import { SERVE_FLAG, serveBenchHost, spawnBenchHost, type BenchHost, type BenchHostConfig } from './benchHost.js';
import { latencySummary, median, round } from './stats.js';

const SECTIONS = ['rest', 'fanout', 'quiet', 'memory', 'tls', 'events50k', 'durable'] as const;
const FANOUT_SOCKETS = [500, 1000];
const FANOUT_OPS = 1_000;
const WRITERS = 4;
const REST_WRITES = 2_000;
const WARMUP_WRITES = 3_000;
const QUIET_WRITES = 20;
const IDLE_SOCKETS = [1000, 5000];
const DEADLINE_MS = 20 * 60_000;

const script = fileURLToPath(import.meta.url);
const token = randomBytes(16).toString('hex');
const hosts = new Set<BenchHost>();
const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);

function parseArgs(argv: string[]) {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only')?.split(',') ?? [...SECTIONS];
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new TypeError(`unknown section ${s}; known: ${SECTIONS.join(', ')}`);
  const window = value('--window');
  return {
    runs: Number(value('--runs') ?? 3),
    only: new Set(only),
    live: window === undefined ? {} : { fanoutWindowMs: Number(window) },
    quietSockets: Number(value('--quiet-sockets') ?? 500),
  };
}
const args = parseArgs(process.argv.slice(2));

async function startHost(config: Omit<BenchHostConfig, 'token' | 'live'>) {
  const host = await spawnBenchHost(script, { ...config, token, live: args.live });
  hosts.add(host);
  return host;
}
async function stopHost(host: BenchHost) {
  await host.close();
  hosts.delete(host);
}

async function cpuOf(host: BenchHost, work: () => Promise<unknown>) {
  const before = await host.cpuUsage();
  await work();
  const after = await host.cpuUsage();
  return after.user - before.user + (after.system - before.system);
}

/** A warm host with a pool of events to update and delete, and a socket key. */
async function warmHost(name: string, root: string, tls = false) {
  const host = await startHost({ dataDir: join(root, name), tls });
  const rest = createRestClient(host.port, token);
  const key = (await rest.json('GET', '/api/v1')).body.key as string;
  const pool = await seedPool(rest, 100, `${name}-cold`);
  // The first writes after a start, before the JIT has settled.
  const cold = await cpuOf(host, () => runMixed(rest, pool, 100, 1, `${name}-cold-insert`, true));
  progress(`${name}: warming up (${WARMUP_WRITES} writes)`);
  await runMixed(rest, pool, WARMUP_WRITES, WRITERS, `${name}-warm`);
  return { host, rest, key, pool, coldCpuPerWriteUs: round(cold / 100, 1) };
}

/** REST write CPU with no sockets: inserts from one writer, and from four at once; the mixed workload as the fan-out's baseline. */
async function restWrites(host: BenchHost, rest: RestClient, pool: IdPool, tag: string) {
  const measure = async (writers: number, writes: number, mixed: boolean, label: string) => {
    const cpu: number[] = [];
    let latencies: Float64Array = new Float64Array();
    for (let r = 0; r < args.runs; r++) {
      let restMs!: Float64Array;
      const us = await cpuOf(host, async () => {
        restMs = (await runMixed(rest, pool, writes, writers, `${tag}-${label}-${r}`, !mixed)).restMs;
      });
      cpu.push(us / writes);
      latencies = restMs;
    }
    return { writers, writes, cpuPerWriteUs: round(median(cpu), 1), runsUs: cpu.map((c) => round(c, 1)), answerP50Ms: latencySummary(latencies).p50Ms };
  };
  progress(`${tag}: REST write CPU, no sockets`);
  return {
    oneWriter: await measure(1, REST_WRITES, false, 'w1'),
    fourWriters: await measure(WRITERS, REST_WRITES, false, 'w4'),
    mixedFourWriters: await measure(WRITERS, FANOUT_OPS, true, 'mixed'),
  };
}

/** The workload with `sockets` subscribers, `runs` times; medians, with the REST cost of the same writes taken off. */
async function fanout(ctx: Awaited<ReturnType<typeof warmHost>>, sockets: number, restCpuPerOp: number, restWritesPerOp: number, secure: boolean) {
  const runs: Awaited<ReturnType<typeof fanoutRun>>[] = [];
  for (let r = 0; r < args.runs; r++) {
    progress(`fan-out${secure ? ' over TLS' : ''}: ${sockets} sockets, ${FANOUT_OPS} writes from ${WRITERS} writers (run ${r + 1}/${args.runs})`);
    runs.push(await fanoutRun(ctx.host, ctx.rest, ctx.key, ctx.pool, { sockets, ops: FANOUT_OPS, writers: WRITERS, tag: `f${sockets}-${r}`, secure }));
  }
  const per = (f: (run: (typeof runs)[number]) => number) => median(runs.map(f));
  const all = Float64Array.from(runs.flatMap((run) => [...run.latencies]));
  return {
    sockets,
    ops: FANOUT_OPS,
    writers: WRITERS,
    deliveries: runs.map((run) => run.deliveries),
    lost: runs.reduce((n, run) => n + run.lost, 0),
    duplicated: runs.reduce((n, run) => n + run.duplicated, 0),
    cpuPerDeliveryUs: round(per((run) => run.cpuUs / run.deliveries)),
    cpuPerDeliveryRunsUs: runs.map((run) => round(run.cpuUs / run.deliveries)),
    fanoutCpuPerDeliveryUs: round(per((run) => (run.cpuUs - FANOUT_OPS * restCpuPerOp) / run.deliveries)),
    systemCpuPct: per((run) => run.systemPct),
    writeCallsPerDelivery: round(per((run) => (run.writeCalls ?? NaN) / run.deliveries), 3),
    fanoutWriteCallsPerDelivery: round(per((run) => ((run.writeCalls ?? NaN) - FANOUT_OPS * restWritesPerOp) / run.deliveries), 3),
    ...latencySummary(all),
    afterAnswer: latencySummary(Float64Array.from(runs.flatMap((run) => [...run.afterAnswer]))),
    writeAnswerP50Ms: latencySummary(Float64Array.from(runs.flatMap((run) => [...run.restMs]))).p50Ms,
  };
}

/** Write calls per op of the mixed workload with no sockets (REST answers and the journal). */
async function restWriteCalls(ctx: Awaited<ReturnType<typeof warmHost>>) {
  const before = await ctx.host.writeCalls();
  await runMixed(ctx.rest, ctx.pool, FANOUT_OPS, WRITERS, 'syscw');
  const after = await ctx.host.writeCalls();
  return before === null || after === null ? NaN : (after - before) / FANOUT_OPS;
}

async function plainHostSections(root: string, result: Record<string, unknown>) {
  const ctx = await warmHost('plain', root);
  try {
    const rest = await restWrites(ctx.host, ctx.rest, ctx.pool, 'plain');
    if (args.only.has('rest')) result.restWrite = { coldCpuPerWriteUs: ctx.coldCpuPerWriteUs, ...rest };
    if (args.only.has('fanout')) {
      const writesPerOp = await restWriteCalls(ctx);
      const runs = [];
      for (const sockets of FANOUT_SOCKETS) runs.push(await fanout(ctx, sockets, rest.mixedFourWriters.cpuPerWriteUs, writesPerOp, false));
      result.fanout = runs;
      result.restWriteCallsPerOp = round(writesPerOp, 2);
    }
    if (args.only.has('quiet')) {
      const sockets = args.quietSockets;
      progress(`quiet host: ${sockets} sockets, one write a second, ${QUIET_WRITES} writes`);
      const quiet = await fanoutRun(ctx.host, ctx.rest, ctx.key, ctx.pool, { sockets, ops: QUIET_WRITES, writers: 1, tag: 'quiet', intervalMs: 1000, timedSockets: sockets });
      result.quiet = {
        sockets,
        writes: QUIET_WRITES,
        ...latencySummary(quiet.latencies),
        afterAnswer: latencySummary(quiet.afterAnswer),
        writeAnswerP50Ms: latencySummary(quiet.restMs).p50Ms,
        lost: quiet.lost,
        duplicated: quiet.duplicated,
      };
    }
  } finally {
    ctx.rest.close();
    await stopHost(ctx.host);
  }
}

/** Host RSS per idle subscribed socket, on a host that has just started (its heap not grown by other phases). */
async function idleMemory(root: string, tls: boolean, counts: number[]) {
  const host = await startHost({ dataDir: join(root, tls ? 'idle-tls' : 'idle'), tls });
  const rest = createRestClient(host.port, token);
  try {
    const key = (await rest.json('GET', '/api/v1')).body.key as string;
    await runMixed(rest, { ids: [] }, 200, 1, 'idle-warm', true);
    const idle = [];
    for (const count of counts) {
      progress(`memory${tls ? ' over TLS' : ''}: ${count} idle subscribed sockets`);
      idle.push(await idleSocketMemory(host, key, count, tls));
    }
    return idle;
  } finally {
    rest.close();
    await stopHost(host);
  }
}

async function tlsSections(root: string) {
  const ctx = await warmHost('tls', root, true);
  try {
    const rest = await restWrites(ctx.host, ctx.rest, ctx.pool, 'tls');
    const writesPerOp = await restWriteCalls(ctx);
    const fan = await fanout(ctx, 500, rest.mixedFourWriters.cpuPerWriteUs, writesPerOp, true);
    return { fanout: fan };
  } finally {
    ctx.rest.close();
    await stopHost(ctx.host);
  }
}

/** Host RSS with 50,000 events: filled by one child, measured in a fresh one that only started on the folder. */
async function events50k(root: string) {
  const dataDir = join(root, 'events50k');
  progress('50,000 events: filling the store');
  await stopHost(await startHost({ dataDir, preload: 50_000 }));
  const host = await startHost({ dataDir });
  const rest = createRestClient(host.port, token);
  try {
    const atStart = await host.rss();
    const listed = await rest.json('GET', '/events');
    if (!Array.isArray(listed.body) || listed.body.length < 50_000) throw new Error(`GET /events listed ${listed.body?.length}`);
    const afterList = await host.rss();
    return { events: listed.body.length, startMs: Math.round(host.startMs), rssMiB: mib(atStart), rssAfterFullListMiB: mib(afterList) };
  } finally {
    rest.close();
    await stopHost(host);
  }
}

/** Write throughput with 10,000 events stored: one writer, then 32 at once. */
async function durable10k(root: string) {
  const dir = join(root, 'with10k');
  progress('durable: 10,000 events, sequential and 32 concurrent writers');
  const host = await startHost({ dataDir: dir, preload: 10_000 });
  const rest = createRestClient(host.port, token);
  try {
    await runMixed(rest, { ids: [] }, 1000, 4, 'd-warm', true);
    const rate = async (writers: number, writes: number, tag: string) => {
      const t = performance.now();
      const run = await runMixed(rest, { ids: [] }, writes, writers, tag, true);
      return { writes, writers, writesPerSec: Math.round(writes / ((performance.now() - t) / 1000)), ...latencySummary(run.restMs) };
    };
    const sequential = await rate(1, 2000, 'd-seq');
    const concurrent32 = await rate(32, 5000, 'd-c32');
    const listed = await rest.json('GET', '/events');
    if (listed.body?.length !== 10_000 + 1000 + 2000 + 5000) throw new Error(`the host lists ${listed.body?.length} events`);
    return { sequential, concurrent32, preloadMs: Math.round(host.preloadMs), hostStartMs: Math.round(host.startMs) };
  } finally {
    rest.close();
    await stopHost(host);
    progress(`durable: calendar.json is ${await stat(join(dir, 'calendar.json')).then((s) => s.size, () => 0)} bytes`);
  }
}

async function runBench() {
  const root = await mkdtemp(join(tmpdir(), 'lan-bench-'));
  const deadline = setTimeout(() => {
    progress(`gave up after ${DEADLINE_MS / 1000} s`);
    for (const host of hosts) host.kill();
    rmSync(root, { recursive: true, force: true });
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  const started = performance.now();
  const result: Record<string, unknown> = { runs: args.runs, live: args.live };
  try {
    // A section that fails is reported as such; the others still run.
    const section = async (name: string, run: () => Promise<unknown>) => {
      try {
        const value = await run();
        if (value !== undefined) result[name] = value;
      } catch (err) {
        progress(`${name} failed: ${(err as Error).stack ?? err}`);
        result[name] = { failed: (err as Error).message };
      }
    };
    if (['rest', 'fanout', 'quiet'].some((s) => args.only.has(s))) await section('plain', () => plainHostSections(root, result));
    if (args.only.has('memory')) await section('idleSockets', () => idleMemory(root, false, IDLE_SOCKETS));
    if (args.only.has('tls')) await section('tls', () => tlsSections(root));
    if (args.only.has('tls')) await section('tlsIdleSockets', () => idleMemory(root, true, [1000]));
    if (args.only.has('events50k')) await section('events50k', () => events50k(root));
    if (args.only.has('durable')) await section('durable10k', () => durable10k(root));
    result.node = process.version;
    result.cpus = cpus().length;
    result.seconds = round((performance.now() - started) / 1000, 1);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const host of hosts) host.kill();
    await rm(root, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}

const main = process.argv[2] === SERVE_FLAG ? serveBenchHost(process.argv.slice(3)) : runBench();
main.catch((err) => {
  progress(`failed: ${(err as Error).stack ?? err}`);
  for (const host of hosts) host.kill();
  process.exitCode = 1;
});
