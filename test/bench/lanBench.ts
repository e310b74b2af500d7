// The LAN benchmark: failover, hand-over, return and healing times of desks in network namespaces.
// Needs root (namespaces); prints one JSON line. Run with `npm run bench:lan`.
import { desks, replicas, type Desk } from '../helpers/desks.js';
import { createLan, netnsUnavailable } from '../helpers/netns.js';

const OFFICE = { name: 'Office', joinKey: 'office-join-key-for-the-lan-bench' };
const anEvent = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - start;
    } catch {
      // a desk that is restarting answers nothing for a moment
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stream(targets: Desk[], tag: string) {
  const acked: string[] = [];
  let failed = 0;
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const desk = targets[n % targets.length]!;
      const res = await desk.write('POST', '/events', anEvent(`${tag}-${n}`)).catch(() => null);
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

async function main() {
  const unavailable = await netnsUnavailable();
  if (unavailable) return console.log(JSON.stringify({ skipped: unavailable }));
  const lan = await createLan({ peers: 3 });
  const office = desks(lan, OFFICE);
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
    await x.write('POST', '/events', anEvent('left'));
    await y.write('POST', '/events', anEvent('right'));
    const healAt = Date.now();
    await lan.heal();
    await until('one host', () => hosts([x, y]).length === 1);
    result.healToOneHostMs = Date.now() - healAt;
    await until('one calendar', async () => {
      const views = await replicas([x, y]);
      return views[0]!.join() === views[1]!.join();
    });
    result.healToOneCalendarMs = Date.now() - healAt;
    console.log(JSON.stringify({ lan: result, node: process.version }));
  } finally {
    await office.cleanup();
    await lan.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
