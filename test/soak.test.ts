// The short version of `npm run soak`: fewer sockets for a few seconds, the host in process.
// It checks what must hold at any length (no acknowledged write missing, no delivery lost or
// doubled, reconnecting sockets caught up); the memory figure needs the long run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startHost } from '../main/host.js';
import { silentLogger } from '../main/log.js';
import { preloadSoakCalendar, runSoak } from './bench/soak.js';

it('keeps every write and delivers every change once while sockets come and go', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-soak-'));
  const token = 'soak-token-0123456789';
  await preloadSoakCalendar(dir);
  const host = await startHost({ dataDir: dir, token, log: silentLogger, port: 0, bind: '127.0.0.1' });
  try {
    const result = await runSoak(
      { port: host.port, token, rss: async () => process.memoryUsage().rss, close: () => host.close() },
      { minutes: 0.1, sockets: 100, reconnect: 0.1, writesPerSecond: 40 },
    );
    expect(result).toMatchObject({ lost: 0, doubled: 0, reloads: 0, unexpectedCloses: 0, behind: 0, missingWrites: [], writeFailures: [] });
    expect(result.writes).toBeGreaterThan(100);
    expect(result.reconnects).toBeGreaterThanOrEqual(50);
    expect(result.applied).toBeGreaterThan(100 * 100);
  } finally {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
