/**
 * Live-update and storage benchmark. The host runs in a child process (this script with
 * --serve) so its CPU time is measured apart from the socket clients, which run here.
 * Progress goes to stderr; the result is one JSON line on stdout.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRestClient, openSubscribers, type RestClient } from './benchClients.js';
import { eventBody, SERVE_FLAG, serveBenchHost, spawnBenchHost, type BenchHost } from './benchHost.js';
import { latencySummary, round } from './stats.js';

const SOCKET_COUNTS = [10, 100, 1000];
const FANOUT_WRITES = 1_000;
const WARMUP_WRITES = 2_000;
const PRELOAD = 10_000;
const SEQUENTIAL_WRITES = 2_000;
const CONCURRENT_WRITES = 5_000;
const DEADLINE_MS = 240_000;

const script = fileURLToPath(import.meta.url);
const token = randomBytes(16).toString('hex');
const hosts = new Set<BenchHost>();
const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** Server CPU between two readings: total microseconds, and the kernel's share of it in percent. */
async function cpuSince(host: BenchHost, before: NodeJS.CpuUsage) {
  const { user, system } = await host.cpuUsage();
  const us = user - before.user + (system - before.system);
  return { us, systemPct: Math.round((100 * (system - before.system)) / us) };
}

async function startHost(dir: string, preload = 0) {
  const host = await spawnBenchHost(script, dir, token, preload);
  hosts.add(host);
  return host;
}
async function stopHost(host: BenchHost) {
  await host.close();
  hosts.delete(host);
}

/** For host state that has no event to wait for (the child's client count), asked over IPC. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function post(rest: RestClient, text: string): Promise<string> {
  const answer = await rest.json('POST', '/events', eventBody(text));
  if (answer.status !== 200 || answer.body?.action !== 'inserted') {
    throw new Error(`POST /events answered ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.tid as string;
}

/**
 * K sequential REST writes while `sockets` subscribers listen. Latency runs from sending the
 * request to each socket reading the matching message. Writes are announced in order, so once
 * every socket has read the last write, anything missing is lost rather than late.
 */
async function fanoutPhase(host: BenchHost, rest: RestClient, key: string, sockets: number, writes: number, tag: string) {
  const prefix = `${tag}-`;
  const sentAt = new Float64Array(writes);
  const restMs = new Float64Array(writes);
  const counts = new Uint32Array(sockets * writes);
  const latencies = new Float64Array(sockets * writes);
  const seenIds: (string | undefined)[] = new Array(writes);
  const tids: string[] = new Array(writes);
  let received = 0;
  let unique = 0;
  let wrongIds = 0;
  let lastSeen = 0;
  let allSawLast!: () => void;
  const lastArrived = new Promise<void>((resolve) => (allSawLast = resolve));

  const subscribers = sockets > 0
    ? await openSubscribers(host.port, key, sockets, (socket, value, at) => {
        const text = value?.event?.text;
        if (value?.type !== 'add-event' || typeof text !== 'string' || !text.startsWith(prefix)) return;
        const i = Number(text.slice(prefix.length));
        received++;
        if (seenIds[i] === undefined) seenIds[i] = value.event.id;
        else if (seenIds[i] !== value.event.id) wrongIds++;
        if (++counts[socket * writes + i]! > 1) return;
        latencies[unique++] = at - sentAt[i]!;
        if (i === writes - 1 && ++lastSeen === sockets) allSawLast();
      })
    : null;
  try {
    if (await host.clientCount() !== sockets) throw new Error(`the host counts ${await host.clientCount()} clients, expected ${sockets}`);
    await host.gc();
    gc();
    const cpuBefore = await host.cpuUsage();
    for (let i = 0; i < writes; i++) {
      sentAt[i] = performance.now();
      tids[i] = await post(rest, `${prefix}${i}`);
      restMs[i] = performance.now() - sentAt[i]!;
    }
    let timer: NodeJS.Timeout | undefined;
    const arrived = sockets === 0 || await Promise.race([
      lastArrived.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 30_000))),
    ]);
    clearTimeout(timer);
    const cpu = await cpuSince(host, cpuBefore);
    if (!arrived) progress(`${tag}: not every socket got the last write within 30 s`);

    let lost = 0;
    let duplicated = 0;
    for (const c of counts) {
      if (c === 0) lost++;
      else duplicated += c - 1;
    }
    for (let i = 0; i < writes && sockets > 0; i++) if (seenIds[i] !== undefined && seenIds[i] !== tids[i]) wrongIds++;
    return { received, lost, duplicated, wrongIds, cpu, latencies: latencies.subarray(0, unique), restMs };
  } finally {
    await subscribers?.close();
    await waitUntil(async () => (await host.clientCount()) === 0, 10_000, 'the host to drop the sockets');
  }
}

async function fanoutBench(root: string) {
  const host = await startHost(join(root, 'fanout'));
  const rest = createRestClient(host.port, token);
  try {
    const hello = await rest.json('GET', '/api/v1');
    const key = hello.body?.key;
    if (hello.status !== 200 || typeof key !== 'string') throw new Error(`GET /api/v1 answered ${hello.status}`);
    // CPU per write takes a few thousand requests to settle (the JIT), on both paths.
    progress('fan-out: warming up');
    await fanoutPhase(host, rest, key, 0, WARMUP_WRITES, 'warm0');
    await fanoutPhase(host, rest, key, 10, WARMUP_WRITES / 4, 'warm10');

    // The REST cost is measured before and after the socket phases; their mean is what
    // fanoutCpuPerDeliveryUs subtracts, and their spread shows how noisy that subtraction is.
    const baselinePhase = async (when: string) => {
      progress(`fan-out: ${FANOUT_WRITES} writes, no subscribers (REST cost, ${when})`);
      return fanoutPhase(host, rest, key, 0, FANOUT_WRITES, `s0${when}`);
    };
    const before = await baselinePhase('before');
    const phases = [];
    for (const sockets of SOCKET_COUNTS) {
      progress(`fan-out: ${FANOUT_WRITES} writes, ${sockets} subscribers`);
      phases.push({ sockets, ...(await fanoutPhase(host, rest, key, sockets, FANOUT_WRITES, `s${sockets}`)) });
    }
    const after = await baselinePhase('after');
    const restCpuPerWrite = (before.cpu.us + after.cpu.us) / 2 / FANOUT_WRITES;
    const baseline = {
      writes: FANOUT_WRITES,
      ...latencySummary(before.restMs),
      cpuPerWriteUs: round(restCpuPerWrite, 1),
      cpuPerWriteUsBeforeAfter: [round(before.cpu.us / FANOUT_WRITES, 1), round(after.cpu.us / FANOUT_WRITES, 1)],
      systemCpuPct: before.cpu.systemPct,
    };
    const fanout = phases.map((r) => ({
      sockets: r.sockets,
      writes: FANOUT_WRITES,
      deliveries: r.received,
      ...latencySummary(r.latencies),
      writeP50Ms: latencySummary(r.restMs).p50Ms,
      cpuPerDeliveryUs: round(r.cpu.us / r.received, 2),
      fanoutCpuPerDeliveryUs: round((r.cpu.us - FANOUT_WRITES * restCpuPerWrite) / r.received, 2),
      systemCpuPct: r.cpu.systemPct,
      lost: r.lost,
      duplicated: r.duplicated,
      wrongIds: r.wrongIds,
    }));
    return { baseline, fanout };
  } finally {
    rest.close();
    await stopHost(host);
  }
}

/** `total` POSTs from `writers` concurrent loops; each loop waits for its answer (the write is durable) before the next. */
async function measureWrites(host: BenchHost, rest: RestClient, writers: number, total: number, tag: string) {
  const latencies = new Float64Array(total);
  let next = 0;
  const writer = async () => {
    while (next < total) {
      const i = next++;
      const t = performance.now();
      await post(rest, `${tag}-${i}`);
      latencies[i] = performance.now() - t;
    }
  };
  await host.gc();
  gc();
  const cpuBefore = await host.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - start) / 1000;
  const cpu = await cpuSince(host, cpuBefore);
  return {
    writes: total,
    writesPerSec: Math.round(total / seconds),
    ...latencySummary(latencies),
    cpuPerWriteUs: round(cpu.us / total, 1),
    systemCpuPct: cpu.systemPct,
  };
}

async function fileBytes(file: string) {
  return stat(file).then((s) => s.size, () => 0);
}

async function durableScenario(root: string, name: string, preload: number) {
  const dir = join(root, name);
  progress(`durable ${name}: ${preload ? `preloading ${preload} events, then ` : ''}starting the host`);
  const host = await startHost(dir, preload);
  const rest = createRestClient(host.port, token);
  let measured;
  try {
    // Warm up on one record, updated over and over, so the number of stored events stays put.
    const id = await post(rest, `${name}-warm`);
    for (let i = 0; i < WARMUP_WRITES; i++) {
      const answer = await rest.json('PUT', `/events/${id}`, eventBody(`${name}-warm-${i}`));
      if (answer.status !== 200) throw new Error(`PUT answered ${answer.status}`);
    }
    progress(`durable ${name}: ${SEQUENTIAL_WRITES} sequential writes`);
    const sequential = await measureWrites(host, rest, 1, SEQUENTIAL_WRITES, `${name}-seq`);
    progress(`durable ${name}: ${CONCURRENT_WRITES} writes from 32 writers`);
    const concurrent = await measureWrites(host, rest, 32, CONCURRENT_WRITES, `${name}-c32`);
    const listed = await rest.json('GET', '/events');
    const expected = preload + 1 + SEQUENTIAL_WRITES + CONCURRENT_WRITES;
    if (!Array.isArray(listed.body) || listed.body.length !== expected) {
      throw new Error(`durable ${name}: the host lists ${listed.body?.length} events, expected ${expected}`);
    }
    measured = {
      storedAtStart: preload,
      storedAtEnd: expected,
      preloadMs: Math.round(host.preloadMs),
      hostStartMs: Math.round(host.startMs),
      sequentialWritesPerSec: sequential.writesPerSec,
      concurrent32WritesPerSec: concurrent.writesPerSec,
      sequential,
      concurrent32: concurrent,
      // While running: the snapshot as last compacted, and the journal since.
      calendarJsonBytes: await fileBytes(join(dir, 'calendar.json')),
      changesJsonlBytes: await fileBytes(join(dir, 'changes.jsonl')),
    };
  } finally {
    rest.close();
    await stopHost(host);
  }
  // Closing folds the journal into the snapshot and empties it.
  return { ...measured, calendarJsonBytesAfterClose: await fileBytes(join(dir, 'calendar.json')) };
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
  try {
    const { baseline, fanout } = await fanoutBench(root);
    const fresh = await durableScenario(root, 'fresh', 0);
    const with10k = await durableScenario(root, 'with10k', PRELOAD);
    const result = {
      fanout,
      restBaseline: baseline,
      durable: {
        fresh,
        with10k,
        snapshotBytes: with10k.calendarJsonBytesAfterClose,
      },
      node: process.version,
      cpus: cpus().length,
      seconds: round((performance.now() - started) / 1000, 1),
    };
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
