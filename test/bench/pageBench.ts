/**
 * The page's own weight: time to first paint, bytes transferred and the JS heap, for an empty
 * calendar and for one of 50,000 events over two years, in Debian's chromium against a real host on
 * 127.0.0.1. Medians of three loads each; one JSON line on stdout. `npm run bench:page`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startHost } from '../../main/host.js';
import { silentLogger } from '../../main/log.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.mjs';
import { seedEvents } from './benchHost.js';
import { median } from './stats.js';
const PAGE_DIR = join(import.meta.dirname, '..', 'renderer');
const TOKEN = 'page-bench-token-0123';
const RUNS = 3;

const pad = (n: number) => String(n).padStart(2, '0');
const wall = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
/** `count` events over the two years around today, an hour each, spread over the working day. */
async function seed(dir: string, count: number) {
  const from = Date.now() - 365 * 86_400_000;
  await seedEvents(dir, count, (n) => {
    const start = new Date(from + Math.floor((n / count) * 730) * 86_400_000);
    start.setHours(8 + (n % 10), 0, 0, 0);
    const end = new Date(start.getTime() + 3_600_000);
    return { text: `Meeting ${n}`, start_date: wall(start), end_date: wall(end) };
  });
}

/** One cold load in a fresh context: ms to the week painted with its events, bytes, and the heap after a GC. */
async function load(browser: Browser, base: string, expectEvents: boolean) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (bytes += e.encodedDataLength));
    await page.goto(`${base}/#token=${TOKEN}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    if (expectEvents) await page.waitForSelector('.dhx_cal_event', { timeout: 120_000 });
    const paintMs = await page.evaluate(() => performance.now());
    await page.waitForSelector('#link-state[data-state="live"]');
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    return { paintMs, bytes, heapMb: usedSize / 1024 / 1024 };
  } finally {
    await context.close();
  }
}

async function measure(browser: Browser, count: number) {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-pagebench-'));
  try {
    await seed(dir, count);
    const host = await startHost({ dataDir: dir, token: TOKEN, log: silentLogger, port: 0, bind: '127.0.0.1', pageDir: PAGE_DIR });
    try {
      const base = `http://127.0.0.1:${host.port}`;
      await load(browser, base, count > 0); // warm the host and the disk cache
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await load(browser, base, count > 0));
      return {
        events: count,
        firstPaintMs: Math.round(median(runs.map((r) => r.paintMs))),
        kbTransferred: Math.round(median(runs.map((r) => r.bytes)) / 1024),
        heapMb: +median(runs.map((r) => r.heapMb)).toFixed(1),
      };
    } finally {
      await host.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
  try {
    const empty = await measure(browser, 0);
    const full = await measure(browser, 50_000);
    console.log(JSON.stringify({ page: { empty, full, paintRatio: +(full.firstPaintMs / empty.firstPaintMs).toFixed(2) }, node: process.version }));
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
