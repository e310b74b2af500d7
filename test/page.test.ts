import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { TOKEN } from './helpers/liveHost.js';

// Run in a real browser against a real host: the shipped Scheduler and Gantt clients, our page.
declare const scheduler: any;
declare const gantt: any;

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
// Live changes show in about a millisecond here (npm run bench measures it); the wait only has to
// outlast a loaded CI machine, never stand in for a speed check.
const SECOND = { timeout: 5000 };

const suite = browserSuite({ artifacts: ARTIFACTS });

/** A colleague's window: its own browser context (own storage), the calendar open on a fixed week. */
async function desk(options: { token?: string; open?: boolean } = {}) {
  const w = await suite.window();
  if (options.open !== false) {
    await openCalendar(w.page, suite.host.base, options.token ?? TOKEN);
    await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
  }
  return w;
}

const eventIn = (page: Page, id: string) =>
  page.evaluate((id) => {
    const ev = scheduler.getEvent(id);
    return ev ? { text: ev.text, start: scheduler.templates.format_date(ev.start_date), end: scheduler.templates.format_date(ev.end_date) } : null;
  }, id);
const renderedText = (page: Page, id: string) =>
  page.evaluate((id) => document.querySelector(`.dhx_cal_event[event_id="${id}"]`)?.textContent ?? null, id);
const storedEvents = async () => (await suite.host.call('GET', '/events')).body as any[];
const noScriptErrors = (w: { problems: string[] }) => expect(w.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(p))).toEqual([]);

async function saveLightbox(page: Page, title: string) {
  await page.waitForSelector('.dhx_cal_light', { state: 'visible' });
  await page.fill('.dhx_cal_light .dhx_cal_lsection_description + .dhx_cal_ltext textarea', title);
  await page.click('.dhx_cal_light [data-action="dhx_save_btn"]');
}

describe('the shared calendar page, in two browsers', () => {
  it('shows an event created, moved, resized and deleted in one window in the other, live', async () => {
    const a = await desk();
    const b = await desk();
    // Create through the editor, as a person does.
    await a.page.evaluate(() => scheduler.addEventNow({ start_date: new Date(2026, 2, 3, 10), end_date: new Date(2026, 2, 3, 11) }));
    await saveLightbox(a.page, 'Quarterly planning');
    await expect.poll(async () => (await storedEvents()).length).toBe(1);
    const id = (await storedEvents())[0].id;
    await expect.poll(() => renderedText(b.page, id), SECOND).toContain('Quarterly planning');

    // Move it by dragging its body two hours down, then resize it by dragging its bottom edge.
    const hour = await a.page.evaluate(() => scheduler.config.hour_size_px as number);
    const box = (await a.page.locator(`.dhx_cal_event[event_id="${id}"] .dhx_body`).boundingBox())!;
    await a.page.mouse.move(box.x + box.width / 2, box.y + 5);
    await a.page.mouse.down();
    await a.page.mouse.move(box.x + box.width / 2, box.y + 5 + hour, { steps: 5 });
    await a.page.mouse.move(box.x + box.width / 2, box.y + 5 + 2 * hour, { steps: 5 });
    await a.page.mouse.up();
    await expect.poll(() => eventIn(b.page, id), SECOND).toMatchObject({ start: '2026-03-03 12:00', end: '2026-03-03 13:00' });
    await expect.poll(() => renderedText(b.page, id), SECOND).toContain('12:00 - 13:00');

    const handle = (await a.page.locator(`.dhx_cal_event[event_id="${id}"] .dhx_event_resize`).boundingBox())!;
    await a.page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await a.page.mouse.down();
    await a.page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2 + hour / 2, { steps: 3 });
    await a.page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2 + hour, { steps: 3 });
    await a.page.mouse.up();
    // The editor snaps to its 15-minute steps: whatever A ended with, B shows the same.
    const resized = await a.page.evaluate((id) => scheduler.templates.format_date(scheduler.getEvent(id).end_date), id);
    expect(resized > '2026-03-03 13:00').toBe(true);
    await expect.poll(() => eventIn(b.page, id), SECOND).toMatchObject({ start: '2026-03-03 12:00', end: resized });
    await a.page.screenshot({ path: join(ARTIFACTS, 'calendar-week.png') });

    // Delete through the editor and its confirmation.
    await a.page.dblclick(`.dhx_cal_event[event_id="${id}"] .dhx_body`);
    await a.page.click('.dhx_cal_light [data-action="dhx_delete_btn"]');
    await a.page.click('.scheduler_modal_box .scheduler_ok_button');
    await expect.poll(() => eventIn(b.page, id), SECOND).toBeNull();
    expect(await renderedText(b.page, id)).toBeNull();
    expect(await storedEvents()).toEqual([]);
    noScriptErrors(a);
    noScriptErrors(b);
  });

  it('carries a recurring series and its exceptions to the other window', async () => {
    const a = await desk();
    const b = await desk();
    await a.page.evaluate(() => scheduler.addEventNow({ start_date: new Date(2026, 2, 2, 9), end_date: new Date(2026, 2, 2, 9, 30) }));
    await a.page.waitForSelector('.dhx_cal_light', { state: 'visible' });
    await a.page.selectOption('.dhx_cal_light .dhx_form_repeat_pattern select', 'DAILY');
    await saveLightbox(a.page, 'Standup');
    await expect.poll(async () => (await storedEvents()).length).toBe(1);
    const series = (await storedEvents())[0];
    expect(series).toMatchObject({ rrule: expect.stringContaining('FREQ=DAILY'), duration: expect.any(Number), end_date: '9999-02-01 00:00' });
    const occurrences = (page: Page) => page.evaluate(() => document.querySelectorAll('.dhx_cal_event').length);
    await expect.poll(() => occurrences(b.page), SECOND).toBe(7);

    // One occurrence moved and renamed, one removed: both are exceptions of the series.
    await a.page.evaluate((sid) => {
      scheduler.addEvent({ start_date: new Date(2026, 2, 4, 15), end_date: new Date(2026, 2, 4, 15, 30), text: 'Standup (afternoon)', recurring_event_id: sid, original_start: new Date(2026, 2, 4, 9) });
    }, series.id);
    await expect.poll(() => b.page.evaluate(() => [...document.querySelectorAll('.dhx_cal_event')].map((e) => e.textContent).join('|')), SECOND).toContain('Standup (afternoon)');
    await a.page.evaluate((sid) => {
      scheduler.addEvent({ start_date: new Date(2026, 2, 5, 9), end_date: new Date(2026, 2, 5, 9, 30), text: 'Standup', recurring_event_id: sid, original_start: new Date(2026, 2, 5, 9), deleted: true });
    }, series.id);
    await expect.poll(() => occurrences(b.page), SECOND).toBe(6);
    await expect.poll(async () => (await storedEvents()).length).toBe(3);

    // Deleting the series takes its exceptions along, in the other window too.
    await a.page.evaluate((sid) => scheduler.deleteEvent(sid), series.id);
    await expect.poll(() => occurrences(b.page), SECOND).toBe(0);
    await expect.poll(storedEvents).toEqual([]);
    noScriptErrors(a);
    noScriptErrors(b);
  });

  it('catches up after being offline, without a reload', async () => {
    const a = await desk();
    const b = await desk();
    await a.page.evaluate(() => ((window as any).marker = 'still the same page'));
    await suite.contexts[0]!.setOffline(true);
    await a.page.waitForSelector('#link-state:not([data-state="live"])', { timeout: 5000 });
    await b.page.evaluate(() => scheduler.addEvent({ start_date: new Date(2026, 2, 4, 14), end_date: new Date(2026, 2, 4, 15), text: 'Made while you were away' }));
    await expect.poll(async () => (await storedEvents()).length).toBe(1);
    const id = (await storedEvents())[0].id;
    expect(await eventIn(a.page, id)).toBeNull();
    await suite.contexts[0]!.setOffline(false);
    await a.page.waitForSelector('#link-state[data-state="live"]', { timeout: 10_000 });
    await expect.poll(() => renderedText(a.page, id), { timeout: 5000 }).toContain('Made while you were away');
    expect(await a.page.evaluate(() => (window as any).marker)).toBe('still the same page');
  });

  it('shows a title full of markup as text in every window and runs nothing', async () => {
    const a = await desk();
    const b = await desk();
    const title = '<img src=x onerror=alert(1)>';
    await a.page.evaluate(() => scheduler.addEventNow({ start_date: new Date(2026, 2, 3, 10), end_date: new Date(2026, 2, 3, 11) }));
    await saveLightbox(a.page, title);
    await expect.poll(async () => (await storedEvents()).length).toBe(1);
    const id = (await storedEvents())[0].id;
    await expect.poll(() => renderedText(b.page, id), SECOND).toContain(title);
    for (const w of [a, b]) {
      expect(await w.page.locator('.dhx_cal_event img').count()).toBe(0);
      expect(await renderedText(w.page, id)).toContain(title);
      noScriptErrors(w);
    }
    // The editor shows what was typed, not entities.
    await b.page.evaluate((id) => scheduler.showLightbox(id), id);
    expect(await b.page.inputValue('.dhx_cal_light .dhx_cal_lsection_description + .dhx_cal_ltext textarea')).toBe(title);
  });

  it('tells the person editing an event that a colleague deleted it', async () => {
    const a = await desk();
    const b = await desk();
    const { body } = await suite.host.call('POST', '/events', { text: 'Budget review', start_date: '2026-03-03 10:00', end_date: '2026-03-03 11:00' });
    await expect.poll(() => eventIn(a.page, body.tid), SECOND).not.toBeNull();
    await a.page.evaluate((id) => scheduler.showLightbox(id), body.tid);
    await a.page.fill('.dhx_cal_light .dhx_cal_lsection_description + .dhx_cal_ltext textarea', 'Budget review (moved to Friday?)');
    await expect.poll(() => eventIn(b.page, body.tid), SECOND).not.toBeNull();
    await b.page.evaluate((id) => scheduler.deleteEvent(id), body.tid);
    await expect.poll(() => a.page.locator('.toast').allTextContents(), SECOND).toContainEqual(expect.stringMatching(/deleted the event you were editing/));
    expect(await a.page.isVisible('.dhx_cal_light')).toBe(false);
    await expect.poll(storedEvents).toEqual([]);
    // Nothing typed is lost: the person can put their version back, and everyone sees it.
    await a.page.click('.toast button:text("Keep my version")');
    await expect.poll(async () => (await storedEvents()).map((e) => e.text)).toEqual(['Budget review (moved to Friday?)']);
    const restored = (await storedEvents())[0];
    expect(restored).toMatchObject({ start_date: '2026-03-03 10:00', end_date: '2026-03-03 11:00' });
    await expect.poll(() => renderedText(b.page, restored.id), SECOND).toContain('Budget review (moved to Friday?)');
    noScriptErrors(a);
    noScriptErrors(b);
  });

  it('says in words why the host refused a save, and keeps nothing of it', async () => {
    const a = await desk();
    // Over the host's limit for a title (as stored): refused with a 400 and the host's reason.
    await a.page.evaluate(() => scheduler.addEvent({ start_date: new Date(2026, 2, 3, 10), end_date: new Date(2026, 2, 3, 11), text: '<'.repeat(2001) }));
    await expect.poll(() => a.page.locator('.toast').allTextContents(), SECOND).toContainEqual(expect.stringMatching(/Could not save: text is longer than 10000 characters/));
    expect(await storedEvents()).toEqual([]);
  });

  it('asks for the token on a wrong or missing one and loads no data', async () => {
    await suite.host.call('POST', '/events', { text: 'Secret', start_date: '2026-03-03 10:00', end_date: '2026-03-03 11:00' });
    const w = await desk({ open: false });
    const dataRequests: string[] = [];
    w.page.on('request', (r) => /\/(events|calendars|gantt)/.test(r.url()) && dataRequests.push(r.url()));
    await w.page.goto(`${suite.host.base}/#token=not-the-right-token`);
    await w.page.waitForSelector('#token-screen:not([hidden])');
    expect(await w.page.textContent('#token-error')).toMatch(/not accepted/);
    expect(await w.page.isHidden('#app')).toBe(true);
    expect(w.page.url()).toBe(`${suite.host.base}/`); // the token left the address bar
    await w.page.reload();
    await w.page.waitForSelector('#token-screen:not([hidden])');
    expect(await w.page.textContent('#token-error')).toMatch(/needs its access token/);
    expect(dataRequests).toEqual([]);
    // The right token opens the calendar, and is kept for the next visit.
    await w.page.fill('#token-input', TOKEN);
    await w.page.click('#token-form button');
    await w.page.waitForSelector('#link-state[data-state="live"]');
    await w.page.reload();
    await w.page.waitForSelector('#link-state[data-state="live"]');
    expect(await w.page.isHidden('#token-screen')).toBe(true);
  });

  it('shares Gantt tasks and links on the same host and live channel', async () => {
    const a = await desk();
    const b = await desk();
    for (const w of [a, b]) {
      await w.page.click('#tab-projects');
      await w.page.waitForSelector('body[data-gantt-ready="true"]');
      await w.page.waitForSelector('#link-state[data-state="live"]');
    }
    await a.page.evaluate(() => {
      gantt.addTask({ text: 'Move office', start_date: new Date(2026, 2, 2), duration: 3 }, 0);
      gantt.addTask({ text: 'Party', start_date: new Date(2026, 2, 9), duration: 1 }, 0);
    });
    await expect.poll(async () => (await suite.host.call('GET', '/gantt/data')).body.data.length).toBe(2);
    const tasks = (await suite.host.call('GET', '/gantt/data')).body.data as any[];
    const [move, party] = ['Move office', 'Party'].map((t) => tasks.find((x) => x.text === t).id);
    const taskIn = (page: Page, id: string) =>
      page.evaluate((id) => (gantt.isTaskExists(id) ? { text: gantt.getTask(id).text, start: gantt.getTask(id).start_date.toISOString() } : null), id);
    await expect.poll(() => taskIn(b.page, move), SECOND).toEqual(await taskIn(a.page, move));
    // The second task is its own live message: wait for its bar too, not only for the first task.
    await expect.poll(() => b.page.locator(`.gantt_task_line[data-task-id="${party}"]`).count(), SECOND).toBe(1);

    await a.page.evaluate(({ move, party }) => gantt.addLink({ source: move, target: party, type: '0' }), { move, party });
    await expect.poll(async () => (await suite.host.call('GET', '/gantt/data')).body.links.length).toBe(1);
    const link = (await suite.host.call('GET', '/gantt/data')).body.links[0].id;
    await expect.poll(() => b.page.evaluate((id) => gantt.isLinkExists(id), link), SECOND).toBe(true);

    await a.page.evaluate((id) => {
      const t = gantt.getTask(id);
      t.text = 'Move office (phase 1)';
      gantt.updateTask(id);
    }, move);
    await expect.poll(() => taskIn(b.page, move), SECOND).toMatchObject({ text: 'Move office (phase 1)' });
    await b.page.screenshot({ path: join(ARTIFACTS, 'projects-gantt.png') });
    noScriptErrors(a);
    noScriptErrors(b);
  });
});
