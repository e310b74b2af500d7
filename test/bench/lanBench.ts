// The LAN benchmark: failover, hand-over, return and healing times of desks in network namespaces.
// Needs root (namespaces); prints one JSON line. Run with `npm run bench:lan`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, captureUnavailable } from '../helpers/capture.js';
import { desks, replicas, type Desk } from '../helpers/desks.js';
import { createLan, netnsUnavailable } from '../helpers/netns.js';
import { until } from './benchFanout.js';
import { eventBody, seedEvents } from './benchHost.js';

function stream(targets: Desk[], tag: string) {
  const acked: string[] = [];
  let failed = 0;
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const desk = targets[n % targets.length]!;
      const res = await desk.write('POST', '/events', eventBody(`${tag}-${n}`)).catch(() => null);
      if (res?.status === 200) acked.push(`${res.json.tid}=${tag}-${n}`);
      else failed++;
    }
  })();
  return { acked, failed: () => failed, stop: async () => ((running = false), await done) };
}

const converged = async (list: Desk[], acked: string[]) => {
  const views = await replicas(list);
  return views.every((v) => v.join() === views[0]!.join()) && acked.every((a) => views[0]!.includes(a));
};
const hosts = (list: Desk[]) => list.filter((d) => d.role() === 'host');

/** Failover, return, hand-over and healing of three desks. */
async function failoverBench(): Promise<Record<string, unknown>> {
  const lan = await createLan({ peers: 3 });
  const office = desks(lan);
  const result: Record<string, unknown> = {};
  try {
    const started = Date.now();
    const a = await office.start(0);
    result.firstHostMs = await until('the first host', () => a.role() === 'host');
    const [b, c] = await Promise.all([office.start(1), office.start(2)]);
    await until('two desks to join', () => b.role() === 'peer' && c.role() === 'peer');
    result.threeDesksReadyMs = Date.now() - started;

    // Failover: SIGKILL the host during a stream of writes at every desk.
    let s = stream([a, b, c], 'kill');
    await until('writes', () => s.acked.length > 100);
    a.run.child.kill('SIGKILL');
    const killedAt = Date.now();
    result.failoverNewHostMs = await until('a new host', () => hosts([b, c]).length === 1);
    result.failoverAllJoinedMs = await until('the other desk to follow it', () => [b, c].some((d) => d.role() === 'peer')) + (result.failoverNewHostMs as number);
    await new Promise((r) => setTimeout(r, 1000));
    await s.stop();
    const stoppedAt = Date.now();
    await until('the survivors to agree', async () => {
      const views = await replicas([b, c]);
      return views[0]!.join() === views[1]!.join();
    });
    result.failoverConvergenceAfterStormMs = Date.now() - stoppedAt;
    result.stormMs = stoppedAt - killedAt;
    result.ackedWrites = s.acked.length;

    // The old host returns on its own data and brings what only it had.
    const back = await office.start(0, { dir: a.dir });
    const t = Date.now();
    await until('the old host to rejoin', () => back.role() === 'peer');
    result.rejoinMs = Date.now() - t;
    result.rejoinConvergenceMs = await until('all three to agree with every acknowledged write', () => converged([back, b, c], s.acked));

    // Graceful hand-over: SIGTERM the host while the others write.
    const host = hosts([back, b, c])[0]!;
    const others = [back, b, c].filter((d) => d !== host);
    s = stream(others, 'quit');
    await until('writes', () => s.acked.length > 50);
    const quitAt = Date.now();
    host.run.child.kill('SIGTERM');
    result.handoverMs = await until('the hand-over', () => hosts(others).length === 1 && hosts(others)[0]!.roles().at(-1)!.startsWith('taking over'));
    await host.run.closed;
    result.hostExitMs = Date.now() - quitAt;
    await new Promise((r) => setTimeout(r, 1000));
    await s.stop();
    result.writesFailedDuringHandover = s.failed();
    result.handoverConvergenceMs = await until('the two to agree', () => converged(others, s.acked));

    // A partition: one desk cut off, writes on both sides, then healed.
    const [x, y] = others as [Desk, Desk];
    await lan.split([y.index]);
    await until('the cut-off desk to host its side', () => hosts([x, y]).length === 2);
    await x.write('POST', '/events', eventBody('left'));
    await y.write('POST', '/events', eventBody('right'));
    const healAt = Date.now();
    await lan.heal();
    await until('one host', () => hosts([x, y]).length === 1);
    result.healToOneHostMs = Date.now() - healAt;
    await until('one calendar', async () => {
      const views = await replicas([x, y]);
      return views[0]!.join() === views[1]!.join();
    });
    result.healToOneCalendarMs = Date.now() - healAt;
    return result;
  } finally {
    await office.cleanup();
    await lan.destroy();
  }
}

/** A cable pulled from the host: no reset, no goodbye; how long until the others agree on a new host. */
async function cablePullBench(): Promise<Record<string, unknown>> {
  const lan = await createLan({ peers: 4 });
  const office = desks(lan);
  try {
    const [host, ...rest] = (await office.startInOrder(4)) as [Desk, ...Desk[]];
    const before = rest.map((d) => d.roles().length);
    await lan.unplug(host.index);
    const pulledAt = Date.now();
    await until('the others to agree on a new host', () => {
      const moved = rest.every((d, i) => d.roles().length > before[i]!);
      const newHosts = hosts(rest);
      return moved && newHosts.length === 1 && rest.every((d) => d === newHosts[0] || (d.role() === 'peer' && d.roles().at(-1)!.includes(newHosts[0]!.address)));
    });
    return { cablePulledToAgreementMs: Date.now() - pulledAt };
  } finally {
    await office.cleanup();
    await lan.destroy();
  }
}

/** mDNS packets on the switch while N desks of one calendar sit idle, and while one write a second goes on. */
async function quietBench(count: number): Promise<Record<string, unknown>> {
  const lan = await createLan({ peers: count });
  const office = desks(lan);
  const windowMs = 20_000;
  try {
    const first = await office.start(0);
    await until('the first host', () => first.role() === 'host');
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => office.start(i + 1)));
    const lastStarted = Date.now();
    await until(`${count - 1} desks to join`, () => rest.every((d) => d.role() === 'peer'), 120_000);
    const all = [first, ...rest];
    const rate = async (during?: () => Promise<void>) => {
      const cap = await capture(lan.bridge, 'udp port 5353');
      try {
        const started = Date.now();
        if (during) await during();
        await new Promise((r) => setTimeout(r, Math.max(0, windowMs - (Date.now() - started))));
        const { packets, bytes } = await cap.summary();
        return { packetsPerSecond: +(packets / (windowMs / 1000)).toFixed(2), bytesPerSecond: Math.round(bytes / (windowMs / 1000)) };
      } finally {
        await cap.close();
      }
    };
    await new Promise((r) => setTimeout(r, Math.max(0, lastStarted + 30_000 - Date.now())));
    const idle = await rate();
    const writing = await rate(async () => {
      for (let n = 0; n < windowMs / 1000; n++) {
        const tick = Date.now();
        await all[n % all.length]!.write('POST', '/events', eventBody(`quiet-${n}`)).catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
      }
    });
    return { desks: count, idle, oneWritePerSecond: writing };
  } finally {
    await office.cleanup();
    await lan.destroy();
  }
}

/** Peak memory of a desk process, from the kernel (it is the program itself: `ip netns exec` execs it). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

/** A desk joins a calendar of 200,000 events: how long until it holds them all, and what memory it takes on both sides. */
async function bigJoinBench(count = 200_000): Promise<Record<string, unknown>> {
  const lan = await createLan({ peers: 2 });
  const office = desks(lan);
  const dir = await mkdtemp(join(tmpdir(), 'lansched-bigjoin-'));
  try {
    await seedEvents(dir, count, (i) => eventBody(`event ${i} of a big calendar`));
    const a = await office.start(0, { dir });
    await until('the big host', () => a.role() === 'host', 120_000);
    const b = await office.start(1);
    const joinMs = await until('the join', () => b.role() === 'peer', 600_000);
    const held = (await b.events()).length;
    return { bigJoin: { events: count, held, joinMs, hostPeakRssMb: await peakRssMb(a.run.child.pid!), joinerPeakRssMb: await peakRssMb(b.run.child.pid!) } };
  } finally {
    await office.cleanup();
    await lan.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `npm run bench:lan [-- failover,cable,quiet,big]`: every part by default. */
async function main() {
  const unavailable = await netnsUnavailable();
  if (unavailable) return console.log(JSON.stringify({ skipped: unavailable }));
  const parts = new Set((process.argv[2] ?? 'failover,cable,quiet,big').split(','));
  const lan: Record<string, unknown> = {};
  if (parts.has('failover')) Object.assign(lan, await failoverBench());
  if (parts.has('cable')) Object.assign(lan, await cablePullBench());
  if (parts.has('big')) Object.assign(lan, await bigJoinBench());
  if (parts.has('quiet')) {
    const why = captureUnavailable();
    lan.mdns = why ? { skipped: why } : [await quietBench(10), await quietBench(20)];
  }
  console.log(JSON.stringify({ lan, node: process.version }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
