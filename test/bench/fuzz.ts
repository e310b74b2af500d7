/**
 * Property-based fuzz of the host's boundaries with fast-check: random and malformed REST
 * requests and socket frames against a real host on 127.0.0.1, and desk pushes over a real
 * desk channel (peerFuzz.ts). Passes when nothing gets a 5xx
 * (but a 507 for a full disk), the host never stops answering, and nothing refused is stored.
 * The result is one JSON line on stdout; the exit code says pass or fail.
 *
 *   npm run fuzz -- [--runs 10000] [--seed N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHost } from '../../main/host.js';
import { silentLogger } from '../../main/log.js';
import { runPeerFuzz } from './peerFuzz.js';
import { fuzz, rawClient, restTarget, socketTarget, type FuzzContext, type FuzzReport, type FuzzTarget } from './fuzzTargets.js';

export interface FuzzResult {
  pass: boolean;
  seed: number;
  reports: FuzzReport[];
  /** The host still answered a plain read at the end. */
  alive: boolean;
}

/**
 * Starts a host in a temp folder and fuzzes its REST routes and its socket, `runs` inputs each;
 * `extraTargets` (desk-to-desk routes, say) are fuzzed the same way on the same host.
 */
export async function runFuzz(runs: number, seed: number, extraTargets: (ctx: FuzzContext) => FuzzTarget<any>[] = () => []): Promise<FuzzResult> {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-fuzz-'));
  const token = 'fuzz-token-0123456789';
  const host = await startHost({ dataDir: dir, token, log: silentLogger, port: 0, bind: '127.0.0.1' });
  const ctx: FuzzContext = { port: host.port, token, store: host.store };
  const client = rawClient(host.port, token);
  const reports: FuzzReport[] = [];
  try {
    const rest = restTarget(ctx, client);
    reports.push(await fuzz(ctx, rest, runs, seed));
    const key = ((await client.send('GET', '/api/v1')).body as { key: string }).key;
    const socket = socketTarget(ctx, key);
    reports.push(await fuzz(ctx, socket, runs, seed));
    socket.close();
    for (const target of extraTargets(ctx)) reports.push(await fuzz(ctx, target, runs, seed));
    const alive = (await client.send('GET', '/events')).status === 200;
    return { pass: alive && reports.every((r) => r.failure === null), seed, reports, alive };
  } finally {
    client.close();
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string' } } });
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  if (!(runs > 0) || !Number.isInteger(seed)) throw new TypeError('usage: npm run fuzz -- [--runs 10000] [--seed N]');
  const result = await runFuzz(runs, seed);
  // What desks send each other, over a real proven channel, as the third target.
  const peer = await runPeerFuzz(runs, seed);
  result.reports.push(peer);
  result.pass &&= peer.failure === null;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.pass ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`fuzz: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
