/**
 * The fan-out workload of issue 11: writers doing inserts, updates and deletes (50/30/20) over REST
 * while sockets listen, with every socket checked for getting each change exactly once, in order.
 */
import { eventBody, type BenchHost } from './benchHost.js';
import { openSubscribers, type RestClient } from './benchClients.js';

export interface MixedRun {
  ops: number;
  /** Per op: when it was sent, and how long its REST answer took. */
  sentAt: Float64Array;
  restMs: Float64Array;
  /** Op index by the text it wrote (inserts, updates) or the id it deleted. */
  opOf: Map<string, number>;
}

/** Event ids that no write in flight is using, so concurrent writers never collide on one record. */
export interface IdPool {
  ids: string[];
}

const kindOf = (i: number) => (i % 10 < 5 ? 'insert' : i % 10 < 8 ? 'update' : 'delete');
const takeRandom = (pool: IdPool) => {
  const at = Math.floor(Math.random() * pool.ids.length);
  const id = pool.ids[at]!;
  pool.ids[at] = pool.ids[pool.ids.length - 1]!;
  pool.ids.pop();
  return id;
};

async function expectOk(answer: Promise<{ status: number; body: any }>, what: string) {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`${what} answered ${status} ${JSON.stringify(body)}`);
  return body;
}

/** `count` inserts one after another, for updates and deletes to work on. */
export async function seedPool(rest: RestClient, count: number, tag: string): Promise<IdPool> {
  const pool: IdPool = { ids: [] };
  for (let i = 0; i < count; i++) pool.ids.push((await expectOk(rest.json('POST', '/events', eventBody(`${tag}-seed-${i}`)), 'POST')).tid);
  return pool;
}

/**
 * `ops` writes from `writers` concurrent loops, each waiting for its answer (the write is durable)
 * before the next: inserts, updates and deletes of the pool's events (50/30/20), or only inserts.
 */
export async function runMixed(rest: RestClient, pool: IdPool, ops: number, writers: number, tag: string, insertsOnly = false): Promise<MixedRun> {
  const run: MixedRun = { ops, sentAt: new Float64Array(ops), restMs: new Float64Array(ops), opOf: new Map() };
  let next = 0;
  const one = async (i: number) => {
    const kind = insertsOnly || pool.ids.length === 0 ? 'insert' : kindOf(i);
    const text = `${tag}-${i}`;
    run.sentAt[i] = performance.now();
    if (kind === 'insert') {
      run.opOf.set(text, i);
      const { tid } = await expectOk(rest.json('POST', '/events', eventBody(text)), 'POST');
      if (!insertsOnly) pool.ids.push(tid);
    } else if (kind === 'update') {
      const id = takeRandom(pool);
      run.opOf.set(text, i);
      await expectOk(rest.json('PUT', `/events/${id}`, eventBody(text)), 'PUT');
      pool.ids.push(id);
    } else {
      const id = takeRandom(pool);
      run.opOf.set(id, i);
      await expectOk(rest.json('DELETE', `/events/${id}`), 'DELETE');
    }
    run.restMs[i] = performance.now() - run.sentAt[i]!;
  };
  const writer = async () => {
    while (next < ops) await one(next++);
  };
  await Promise.all(Array.from({ length: writers }, writer));
  return run;
}

/** Per socket: the next revision it should read; what arrived otherwise is counted. */
function createChecker(sockets: number, firstRev: number) {
  const expected = new Float64Array(sockets).fill(firstRev);
  const totals = { deliveries: 0, duplicated: 0, skipped: 0 };
  return {
    totals,
    expected,
    see(socket: number, rev: number) {
      totals.deliveries++;
      const want = expected[socket]!;
      if (rev === want) expected[socket] = want + 1;
      else if (rev < want) totals.duplicated++;
      else {
        totals.skipped += rev - want;
        expected[socket] = rev + 1;
      }
    },
    /** Revisions no socket has read by now, up to `lastRev`. */
    missing(lastRev: number) {
      let n = totals.skipped;
      for (const e of expected) n += lastRev + 1 - e;
      return n;
    },
  };
}

/** The revision at the end of a live message, without parsing the rest of it. */
const revOf = (text: string) => Number(text.slice(text.lastIndexOf('"rev":') + 6, text.indexOf('}', text.lastIndexOf('"rev":'))));

/** Which op a live message came from: inserts and updates by their text, deletes by their id. */
function opOfMessage(text: string, run: MixedRun): number | undefined {
  const value = JSON.parse(text)?.body?.value;
  if (!value) return undefined;
  return value.type === 'delete-event' ? run.opOf.get(value.event.id) : run.opOf.get(value.event.text);
}

export interface FanoutOptions {
  sockets: number;
  ops: number;
  writers: number;
  tag: string;
  secure?: boolean;
  /** Sockets whose every message is parsed to time it (the rest only check the revision). */
  timedSockets?: number;
  /** Milliseconds between writes (one writer): the quiet host's guard. */
  intervalMs?: number;
}

const currentRevision = async (rest: RestClient) => (await expectOk(rest.json('GET', '/api/v1'), 'GET /api/v1')).data.revision as number;

/** One run of the workload with `sockets` subscribers: host CPU, write calls, deliveries checked, latencies. */
export async function fanoutRun(host: BenchHost, rest: RestClient, key: string, pool: IdPool, o: FanoutOptions) {
  const firstRev = (await currentRevision(rest)) + 1;
  const lastRev = firstRev + o.ops - 1;
  const check = createChecker(o.sockets, firstRev);
  const timed = Math.min(o.sockets, o.timedSockets ?? 50);
  const latencies: number[] = [];
  /** From the writer's answer (the change is durable; it is announced after the answer goes out) to the socket reading it. */
  const afterAnswer: number[] = [];
  let run: MixedRun | null = null;
  const early: { text: string; at: number }[] = [];
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  let complete = 0;
  const subscribers = await openSubscribers(host.port, key, o.sockets, (socket, text, at) => {
    const rev = revOf(text);
    check.see(socket, rev);
    if (socket < timed) {
      if (run) latencyOf(text, at);
      else early.push({ text, at });
    }
    if (rev === lastRev && ++complete === o.sockets) allDone();
  }, o.secure);
  const latencyOf = (text: string, at: number) => {
    const i = opOfMessage(text, run!);
    if (i === undefined) return;
    latencies.push(at - run!.sentAt[i]!);
    afterAnswer.push(at - run!.sentAt[i]! - run!.restMs[i]!);
  };
  try {
    if ((await host.clientCount()) !== o.sockets) throw new Error(`the host counts ${await host.clientCount()} clients, expected ${o.sockets}`);
    const cpuBefore = await host.cpuUsage();
    const writesBefore = await host.writeCalls();
    run = o.intervalMs ? await paced(rest, pool, o, o.intervalMs) : await runMixed(rest, pool, o.ops, o.writers, o.tag);
    for (const e of early.splice(0)) latencyOf(e.text, e.at);
    let timer: NodeJS.Timeout | undefined;
    const arrived = o.sockets === 0 || (await Promise.race([done.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 60_000)))]));
    clearTimeout(timer);
    const cpu = await host.cpuUsage();
    const writesAfter = await host.writeCalls();
    const us = cpu.user - cpuBefore.user + (cpu.system - cpuBefore.system);
    return {
      sockets: o.sockets,
      ops: o.ops,
      arrived,
      cpuUs: us,
      systemPct: Math.round((100 * (cpu.system - cpuBefore.system)) / us),
      writeCalls: writesBefore === null || writesAfter === null ? null : writesAfter - writesBefore,
      deliveries: check.totals.deliveries - check.totals.duplicated,
      lost: o.sockets === 0 ? 0 : check.missing(lastRev),
      duplicated: check.totals.duplicated,
      latencies: Float64Array.from(latencies),
      afterAnswer: Float64Array.from(afterAnswer),
      restMs: run.restMs,
    };
  } finally {
    await subscribers.close();
    await until('the host to drop the sockets', async () => (await host.clientCount()) === 0, 20_000);
  }
}

/** One writer, one write every `intervalMs`: what a quiet office does. */
async function paced(rest: RestClient, pool: IdPool, o: FanoutOptions, intervalMs: number): Promise<MixedRun> {
  const runs: MixedRun = { ops: o.ops, sentAt: new Float64Array(o.ops), restMs: new Float64Array(o.ops), opOf: new Map() };
  for (let i = 0; i < o.ops; i++) {
    const one = await runMixed(rest, pool, 1, 1, `${o.tag}-${i}`);
    runs.sentAt[i] = one.sentAt[0]!;
    runs.restMs[i] = one.restMs[0]!;
    for (const key of one.opOf.keys()) runs.opOf.set(key, i);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return runs;
}

/**
 * For state that has no event to wait for (a host child's client count asked over IPC, the roles
 * desks print, sockets caught up): asks `check` every 20 ms until it says yes, and resolves with
 * the milliseconds that took. A check that throws counts as a no (a desk that is restarting
 * answers nothing for a moment); the last error goes into the timeout's message.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  let failed: unknown;
  for (;;) {
    try {
      if (await check()) return Date.now() - start;
    } catch (err) {
      failed = err;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}${failed ? ` (last error: ${(failed as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Host RSS per idle subscribed socket: the host's RSS with `count` sockets open, less its RSS
 * before they opened, on a host that has not had that many before (`bytesPerSocket`). Two more
 * rounds follow (`againBytesPerSocket`): memory freed by the first is reused, so they show what
 * stays per socket, and how noisy RSS is.
 */
export async function idleSocketMemory(host: BenchHost, key: string, count: number, secure = false) {
  const once = async () => {
    const before = await host.memory();
    const subscribers = await openSubscribers(host.port, key, count, () => undefined, secure);
    try {
      if ((await host.clientCount()) !== count) throw new Error(`the host counts ${await host.clientCount()} clients, expected ${count}`);
      const after = await host.memory();
      const per = (k: 'rss' | 'heapUsed' | 'external') => Math.round((after[k] - before[k]) / count);
      return { before: before.rss, perSocket: per('rss'), heapPerSocket: per('heapUsed') + per('external') };
    } finally {
      await subscribers.close();
      await until('the host to drop the sockets', async () => (await host.clientCount()) === 0, 30_000);
    }
  };
  const first = await once();
  const again = [(await once()).perSocket, (await once()).perSocket];
  return { sockets: count, rssBeforeMiB: mib(first.before), bytesPerSocket: first.perSocket, againBytesPerSocket: again, jsHeapBytesPerSocket: first.heapPerSocket };
}

export const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
