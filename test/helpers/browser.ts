import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';
import { startTestHost, type TestHost } from './liveHost.js';

export { CHROMIUM };
export const PAGE_DIR = join(import.meta.dirname, '..', '..', 'dist', 'renderer');

/** Debian's chromium, headless, with nothing that reaches outside this machine (Playwright gives it a fresh profile). */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser tests need Debian's chromium at ${CHROMIUM}: apt-get install chromium`);
  }
  if (!existsSync(join(PAGE_DIR, 'index.html'))) throw new Error('the page is not built: run npm run build');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** A page that records what must never happen: script errors and dialogs (an XSS would alert). */
export async function watchedPage(context: BrowserContext) {
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`response: ${res.request().method()} ${res.url()} ${res.status()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return { page, problems, dialogs };
}

/** Opens the invite link and waits until the calendar has loaded and its socket is live. */
export async function openCalendar(page: Page, base: string, token: string) {
  await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#link-state[data-state="live"]');
}

/**
 * The hooks every browser test file needs: one chromium for the file, a fresh host and fresh
 * browser contexts for each test, and no dialog in any page (an XSS would alert). `window()`
 * opens a new context (own storage, like another colleague's machine) with a watched page.
 */
export function browserSuite(options: { artifacts: string }) {
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  let host: TestHost | undefined;
  let contexts: BrowserContext[] = [];
  let watched: Awaited<ReturnType<typeof watchedPage>>[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
    await mkdir(options.artifacts, { recursive: true });
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    host = await startTestHost({ pageDir: PAGE_DIR });
    contexts = [];
    watched = [];
  });
  afterEach(async () => {
    for (const w of watched) expect(w.dialogs, 'no dialog may open (an XSS would alert)').toEqual([]);
    for (const c of contexts) await c.close();
    await host?.close();
  });
  return {
    get host() {
      return host!;
    },
    get contexts() {
      return contexts;
    },
    async window(setup?: (context: BrowserContext) => Promise<unknown>) {
      const context = await browser!.browser.newContext({ viewport: { width: 1400, height: 900 } });
      contexts.push(context);
      await setup?.(context);
      const w = await watchedPage(context);
      watched.push(w);
      return w;
    },
  };
}
