// The page's catch-up follows the host's change pages: after missing more changes than one page
// holds (1,000), a page that comes back online shows all of them, without a reload.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { anEvent, TOKEN } from './helpers/liveHost.js';

declare const scheduler: any;

const suite = browserSuite({ artifacts: join(import.meta.dirname, '.artifacts') });

describe('catching up page by page', () => {
  it('applies every change it missed, across several pages of the change log', async () => {
    const w = await suite.window();
    await openCalendar(w.page, suite.host.base, TOKEN);
    await w.page.evaluate(() => ((window as any).marker = 'the same page'));
    await suite.contexts[0]!.setOffline(true);
    await w.page.waitForSelector('#link-state:not([data-state="live"])', { timeout: 5000 });

    // 2,500 new events while it is away: three pages of changes.
    const missed = 2500;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < missed) {
          const i = next++;
          const res = await suite.host.call('POST', '/events', anEvent({ text: `missed ${i}`, start_date: '2026-03-03 09:00', end_date: '2026-03-03 10:00' }));
          expect(res.status).toBe(200);
        }
      }),
    );
    const pages = await suite.host.call('GET', '/api/v1/changes?since=0');
    expect(pages.body).toMatchObject({ reload: false, more: true });

    await suite.contexts[0]!.setOffline(false);
    await w.page.waitForSelector('#link-state[data-state="live"]', { timeout: 10_000 });
    await expect.poll(() => w.page.evaluate(() => scheduler.getEvents(new Date(2026, 2, 3), new Date(2026, 2, 4)).length), { timeout: 15_000 }).toBe(missed);
    expect(await w.page.evaluate(() => (window as any).marker)).toBe('the same page');
  }, 60_000);
});
