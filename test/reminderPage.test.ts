import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { localZone } from '../main/dav/zones.js';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { vcalendar } from './helpers/davClients.js';
import { TOKEN } from './helpers/liveHost.js';
import { SOON_BODY } from './helpers/reminders.js';

// Reminders in a browser: "Remind me" kept by this browser, a calendar's default for everyone,
// notifications through the browser's Notification API (recorded), one per occurrence across
// tabs, and VALARMs from calendar apps left as they were and never notifying by themselves.
declare const scheduler: any;

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
const WAIT = { timeout: 15_000 };
const suite = browserSuite({ artifacts: ARTIFACTS });
const pages: Page[] = [];
afterEach(() => void pages.splice(0));

/** Wraps the browser's own Notification so the test sees what the page showed (it still shows). */
async function allowNotifications(context: BrowserContext) {
  await context.grantPermissions(['notifications'], { origin: suite.host.base });
  await context.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body?: string; tag?: string; note: Notification }[] = [];
    Object.assign(window, { __shown: shown });
    window.Notification = class extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push({ title, body: options?.body, tag: options?.tag, note: this });
      }
    } as typeof Notification;
  });
}

/** A colleague's browser (its own storage) with the calendar open, notifications allowed. */
async function colleague() {
  // The page's wall clock is this machine's zone: the calendar's zone is the same here.
  await ensureCalendarZone(suite.host.store, { zone: localZone() });
  const w = await suite.window(allowNotifications);
  await openCalendar(w.page, suite.host.base, TOKEN);
  pages.push(w.page);
  return { ...w, context: suite.contexts.at(-1)! };
}

const shown = (page: Page) => page.evaluate(() => (window as any).__shown.map((s: { title: string; body: string }) => ({ title: s.title, body: s.body })) as { title: string; body: string }[]);
const wall = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16).replace('T', ' ');
/** The next quarter hour at least 5 minutes ahead: the editor keeps times on quarter hours. */
const soon = () => Math.ceil((Date.now() + 5 * 60_000) / 900_000) * 900_000;

/** Adds an event in the page and answers its id once the host has given it one. */
const addEvent = (page: Page, text: string, startMs: number, extra: Record<string, unknown> = {}) =>
  page.evaluate(
    ({ text, startMs, extra }) =>
      new Promise<string>((resolve) => {
        const tid = scheduler.addEvent({ start_date: new Date(startMs), end_date: new Date(startMs + 30 * 60_000), text, ...extra });
        scheduler.attachEvent('onEventIdChange', (old: unknown, id: unknown) => String(old) === String(tid) && resolve(String(id)));
      }),
    { text, startMs, extra },
  );

/** Opens the editor on an event, picks "Remind me", and saves. */
async function remindMe(page: Page, id: string, value: string, screenshot?: string) {
  await page.evaluate((id) => scheduler.showLightbox(id), id);
  await page.selectOption('.reminder-choice', value);
  if (screenshot) await page.screenshot({ path: join(ARTIFACTS, screenshot) });
  await page.click('.dhx_save_btn_set');
}

describe('reminders in a browser', () => {
  it('keeps “Remind me” in this browser, notifies once across its tabs, and a click opens the event', async () => {
    const a = await colleague();
    const second = await a.context.newPage();
    await openCalendar(second, suite.host.base, TOKEN);
    pages.push(second);

    const id = await addEvent(a.page, 'Stand-up', soon());
    await remindMe(a.page, id, '60', 'reminder-page-remind-me.png');
    // The choice is this browser's, not the calendar's: the stored event has no trace of it.
    await expect.poll(() => a.page.evaluate(() => JSON.parse(localStorage.getItem('lan-scheduler.reminders') ?? '{}')), WAIT).toEqual({ [id]: 60 });
    expect(Object.keys(suite.host.store.get('events', id)!).filter((k) => /remind|alarm/.test(k))).toEqual([]);

    // A room whose reminder is for everyone, and a meeting in it: both tabs hear it live.
    const room = await suite.host.call('POST', '/calendars', { name: 'Room A', color: '#16a34a', reminder_minutes: 15 });
    await suite.host.call('POST', '/events', { text: 'Visit', start_date: wall(Date.now() + 10 * 60_000), end_date: wall(Date.now() + 40 * 60_000), calendar_id: room.body.tid });
    await expect.poll(async () => [...(await shown(a.page)), ...(await shown(second))].map((s) => s.title).sort(), WAIT).toEqual(['Stand-up', 'Visit']);
    const planner = (await shown(a.page)).length > 0 ? a.page : second;
    expect((await shown(planner)).find((s) => s.title === 'Stand-up')!.body).toMatch(SOON_BODY);

    await planner.evaluate(() => (window as any).__shown[0].note.dispatchEvent(new Event('click')));
    await planner.waitForSelector('.dhx_cal_quick_info', WAIT);
    expect(await planner.textContent('.dhx_cal_qi_title')).toContain('Stand-up');
    await planner.screenshot({ path: join(ARTIFACTS, 'reminder-page-opened.png') });
    // Reloading the tabs shows nothing again: this browser remembers what it showed.
    await a.page.reload();
    await second.reload();
    await a.page.waitForSelector('body[data-ready="true"]');
    await second.waitForSelector('body[data-ready="true"]');
    await addEvent(a.page, 'Later', Date.now() + 10 * 60_000, { calendar_id: room.body.tid });
    await expect.poll(async () => [...(await shown(a.page)), ...(await shown(second))].map((s) => s.title), WAIT).toEqual(['Later']);
  });

  it('keeps the choice made while creating an event under the id the host gives it', async () => {
    const a = await colleague();
    await a.page.evaluate((start) => scheduler.addEventNow({ start_date: new Date(start), end_date: new Date(start + 30 * 60_000), text: 'Brand new' }), soon());
    await a.page.selectOption('.reminder-choice', '15', { timeout: 5000 });
    await a.page.click('.dhx_save_btn_set', { timeout: 5000 });
    await expect.poll(() => suite.host.store.list('events').find((e) => e.text === 'Brand new')?.id, WAIT).toBeTruthy();
    const id = suite.host.store.list('events').find((e) => e.text === 'Brand new')!.id;
    await expect.poll(() => a.page.evaluate(() => JSON.parse(localStorage.getItem('lan-scheduler.reminders') ?? '{}')), WAIT).toEqual({ [id]: 15 });
  });

  it('sets a calendar’s default for everyone in the Reminders dialog; a colleague who chose nothing is reminded', async () => {
    const a = await colleague();
    await suite.host.call('POST', '/calendars', { name: 'Room A', color: '#16a34a' });
    await a.page.click('#reminders-button');
    const select = '#reminders-dialog select[data-calendar]';
    await a.page.waitForSelector(select);
    await a.page.selectOption(select, '10');
    await expect.poll(() => suite.host.store.list('calendars')[0]?.reminder_minutes, WAIT).toBe(10);
    await a.page.screenshot({ path: join(ARTIFACTS, 'reminder-page-defaults.png') });
    await a.page.click('#reminders-dialog .reminders-close');
    const roomId = suite.host.store.list('calendars')[0]!.id;

    const b = await colleague();
    const meeting = await addEvent(b.page, 'Planning', Date.now() + 6 * 60_000, { calendar_id: roomId });
    await expect.poll(async () => (await shown(b.page)).map((s) => s.title), WAIT).toEqual(['Planning']);
    // In the editor, the default reads as the calendar's; choosing None silences it for this person only.
    await b.page.evaluate((id) => scheduler.showLightbox(id), meeting);
    expect(await b.page.$eval('.reminder-choice', (s) => (s as HTMLSelectElement).selectedOptions[0]!.textContent)).toBe('10 minutes before (the calendar’s default)');
    await b.page.selectOption('.reminder-choice', 'none');
    await b.page.click('.dhx_save_btn_set');
    await expect.poll(() => b.page.evaluate(() => JSON.parse(localStorage.getItem('lan-scheduler.reminders') ?? '{}')), WAIT).toEqual({ [meeting]: 'none' });
  });

  it('leaves VALARMs from calendar apps as they were, and reminds only of the person’s own choice', async () => {
    const a = await colleague();
    const start = soon();
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z';
    const alarms = [
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      'DESCRIPTION:Half an hour',
      'TRIGGER:-PT30M',
      'END:VALARM',
      'BEGIN:VALARM',
      'ACTION:AUDIO',
      `TRIGGER;VALUE=DATE-TIME:${stamp(Date.now() - 60_000)}`,
      'END:VALARM',
    ];
    const basic = `Basic ${Buffer.from(`phone:${TOKEN}`).toString('base64')}`;
    const put = await fetch(`${suite.host.base}/dav/calendars/default/phone-alarm.ics`, {
      method: 'PUT',
      headers: { Authorization: basic, 'Content-Type': 'text/calendar' },
      body: vcalendar('BEGIN:VEVENT', 'UID:phone-alarm@test', 'DTSTAMP:20260101T000000Z', `DTSTART:${stamp(start)}`, `DTEND:${stamp(start + 30 * 60_000)}`, 'SUMMARY:From the phone', ...alarms, 'END:VEVENT'),
    });
    expect(put.status).toBe(201);
    const alarmed = suite.host.store.list('events').find((e) => e.text === 'From the phone')!;
    const before = alarmed.alarms;

    // Both VALARMs are due by now; the page reminds of neither. A control event shows that it looked.
    const control = await addEvent(a.page, 'Control', Date.now() + 3 * 60_000);
    await remindMe(a.page, control, '5');
    await expect.poll(async () => (await shown(a.page)).map((s) => s.title), WAIT).toEqual(['Control']);

    // The person's own choice on it reminds once; the stored VALARMs are what the phone wrote.
    await a.page.waitForFunction((id) => scheduler.getEvent(id), alarmed.id);
    await remindMe(a.page, alarmed.id, '60');
    await expect.poll(async () => (await shown(a.page)).map((s) => s.title), WAIT).toEqual(['Control', 'From the phone']);
    await expect.poll(() => suite.host.store.get('events', alarmed.id)?.alarms, WAIT).toBe(before);
    const got = await (await fetch(`${suite.host.base}/dav/calendars/default/phone-alarm.ics`, { headers: { Authorization: basic } })).text();
    expect(got.match(/BEGIN:VALARM/g)).toHaveLength(2);
    for (const line of alarms) expect(got).toContain(line);
  });
});
