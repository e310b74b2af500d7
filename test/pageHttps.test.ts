import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { loadOrCreateDeskCertificate, type DeskCertificate } from '../main/trust/certificate.js';
import { launchBrowser, openCalendar, PAGE_DIR, watchedPage } from './helpers/browser.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

// The page as a browser on the LAN gets it: over HTTPS with the desk's own certificate, the live
// socket over wss on the same port. The browser was told to accept the certificate, as a person
// does after comparing its fingerprint with the invite's.
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let host: TestHost;
let cert: DeskCertificate;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-https-'));
  cert = await loadOrCreateDeskCertificate(dir, silentLogger);
  host = await startTestHost({ pageDir: PAGE_DIR, tls: cert });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await host?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the page over https', () => {
  it('opens the calendar from an https invite, live over wss, with the desk\'s own certificate', async () => {
    const context = await browser.browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const w = await watchedPage(context);
      const base = `https://127.0.0.1:${host.port}`;
      const socket = w.page.waitForEvent('websocket');
      await openCalendar(w.page, base, TOKEN);
      expect((await socket).url()).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:${host.port}/api/v1\\?token=k\\.`));
      expect(w.page.url()).toBe(`${base}/`);
      const { body } = await host.call('POST', '/events', { text: 'Over TLS', start_date: '2026-03-03 10:00', end_date: '2026-03-03 11:00' });
      await w.page.evaluate(() => (window as any).scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
      await expect.poll(() => w.page.evaluate((id) => !!(window as any).scheduler.getEvent(id), body.tid), { timeout: 5000 }).toBe(true);
      expect(w.problems.filter((p) => !/WebSocket/.test(p))).toEqual([]);
      expect(w.dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
