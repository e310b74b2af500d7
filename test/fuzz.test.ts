// The short version of `npm run fuzz`: a few hundred random and malformed REST requests and
// socket frames. Nothing may get a 5xx, nothing refused may be stored, the host must go on.
import { expect, it } from 'vitest';
import { runFuzz } from './bench/fuzz.js';
import { runPeerFuzz } from './bench/peerFuzz.js';

it('answers random and malformed requests and frames without a 5xx, and stores nothing it refused', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const result = await runFuzz(300, seed);
  for (const report of result.reports) expect(report.failure, `${report.target} (seed ${seed})`).toBeNull();
  expect(result.alive).toBe(true);
  const rest = result.reports.find((r) => r.target === 'rest')!;
  // Both kinds of answer came up, so the property was tested both ways.
  expect(rest.refused).toBeGreaterThan(0);
  expect(rest.accepted).toBeGreaterThan(0);
}, 60_000);

it('answers random and malformed desk pushes over a proven channel without failing, and stores nothing it refused', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const report = await runPeerFuzz(300, seed);
  expect(report.failure, `desk push (seed ${seed})`).toBeNull();
  expect(report.refused).toBeGreaterThan(0);
  expect(report.accepted).toBeGreaterThan(0);
}, 60_000);
