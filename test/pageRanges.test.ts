import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { TOKEN } from './helpers/liveHost.js';

// The page loads the calendar by range (the view and a month either side), in a real browser
// against a real host: years of events cost the first paint nothing, and nothing breaks for it.
declare const scheduler: any;

const suite = browserSuite({ artifacts: join(import.meta.dirname, '.artifacts') });
const LIVE = { timeout: 5000 };
const post = async (text: string, start: string, end: string, extra: Record<string, unknown> = {}) =>
  (await suite.host.call('POST', '/events', { text, start_date: start, end_date: end, ...extra })).body.tid as string;
const holds = (page: any, id: string) => page.evaluate((id: string) => !!scheduler.getEvent(id), id);
const shown = (page: any) => page.evaluate(() => [...document.querySelectorAll('.dhx_cal_event')].map((e) => e.textContent).join('|'));

describe('loading by range', () => {
  it('holds only what is near the view, fetches more on the way, and keeps far events live', async () => {
    const near = await post('This week', '2026-03-03 10:00', '2026-03-03 11:00');
    const far = await post('Next year', '2027-06-15 10:00', '2027-06-15 11:00');
    const w = await suite.window();
    const ranges: string[] = [];
    w.page.on('request', (r) => /\/events\?from=/.test(r.url()) && ranges.push(new URL(r.url()).search));
    await openCalendar(w.page, suite.host.base, TOKEN);
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
    await expect.poll(() => holds(w.page, near), LIVE).toBe(true);
    expect(await holds(w.page, far)).toBe(false);
    // First the week and a day either side; a month either side follows in the background.
    expect(ranges).toContain('?from=2026-03-01&to=2026-03-10');
    await expect.poll(() => ranges, LIVE).toContain('?from=2026-03-10&to=2026-04-13');

    // The far event moves into this week: the page never held it, and shows it as new.
    await suite.host.call('PUT', `/events/${far}`, { text: 'Moved into this week', start_date: '2026-03-04 14:00', end_date: '2026-03-04 15:00' });
    await expect.poll(() => shown(w.page), LIVE).toContain('Moved into this week');

    // Going there fetches that month and its neighbours, once.
    const later = await post('Summer party', '2027-07-01 18:00', '2027-07-01 22:00');
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2027, 6, 1), 'month'));
    await expect.poll(() => holds(w.page, later), LIVE).toBe(true);
    // Its month either side: the two gaps around what the month view already holds, one after the other.
    await expect.poll(() => ranges.filter((r) => r.startsWith('?from=2027-05-24') || r.endsWith('to=2027-09-06')).length, LIVE).toBe(2);
    const asked = ranges.length;
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2027, 7, 1), 'week'));
    expect(await holds(w.page, later)).toBe(true);
    // Then somewhere new. August's week was held: nothing asked since reaches before 6 September
    // (the end of what is held; the week's own month either side may start from there).
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2030, 0, 7), 'week'));
    await expect.poll(() => ranges.slice(asked), LIVE).toContain('?from=2030-01-06&to=2030-01-15');
    expect(ranges.slice(asked).filter((r) => r.slice('?from='.length, '?from='.length + 10) < '2027-09-06')).toEqual([]);
  });

  it('shows a series that began long before the view, with its exceptions, in the week and the agenda', async () => {
    const series = await post('Standup', '2025-01-06 09:00', '9999-02-01 00:00', { rrule: 'FREQ=WEEKLY;INTERVAL=1;BYDAY=MO', duration: 900 });
    await post('Standup (moved)', '2026-03-02 11:00', '2026-03-02 11:15', { recurring_event_id: series, original_start: '2026-03-02 09:00' });
    const w = await suite.window();
    await openCalendar(w.page, suite.host.base, TOKEN);
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
    await expect.poll(() => shown(w.page), LIVE).toContain('Standup (moved)');
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 9), 'week'));
    await expect.poll(() => shown(w.page), LIVE).toContain('Standup');
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'agenda'));
    await expect.poll(() => w.page.locator('.dhx_agenda_line, .dhx_cal_agenda_event_line').count(), LIVE).toBeGreaterThan(0);
  });

  it('retries a range that failed, says so once, and then shows it', async () => {
    const id = await post('After a hiccup', '2026-03-03 10:00', '2026-03-03 11:00');
    const w = await suite.window();
    let failed = 0;
    await w.page.route(/\/events\?from=2026-03-01/, (route) => (failed++ === 0 ? route.abort('connectionreset') : route.continue()));
    await openCalendar(w.page, suite.host.base, TOKEN);
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
    await expect.poll(() => w.page.locator('.toast').allTextContents(), LIVE).toContainEqual(expect.stringMatching(/Could not load the calendar's events/));
    await expect.poll(() => holds(w.page, id), { timeout: 10_000 }).toBe(true);
    expect(failed).toBe(2);
  });
});
