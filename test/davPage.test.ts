import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { vcalendar } from './helpers/davClients.js';
import { TOKEN } from './helpers/liveHost.js';

// CalDAV and the page over one store, in a real browser: what one writes the other sees.
declare const scheduler: any;

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'ics');
// Live changes show in about a millisecond; the wait only has to outlast a loaded CI machine.
const SECOND = { timeout: 5000 };
const suite = browserSuite({ artifacts: ARTIFACTS });

async function desk() {
  await ensureCalendarZone(suite.host.store, { zone: 'Europe/Berlin' });
  const w = await suite.window((context) => context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.host.base }));
  await openCalendar(w.page, suite.host.base, TOKEN);
  await w.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
  return w;
}

const basic = `Basic ${Buffer.from(`phone:${TOKEN}`).toString('base64')}`;
const dav = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(suite.host.base + path, { method, headers: { Authorization: basic, ...headers }, body });
  return { status: res.status, text: await res.text() };
};
const syncReport = (token: string) =>
  dav('REPORT', '/dav/calendars/default/', `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`, { Depth: '0' });
const tokenIn = (xml: string) => /<d:sync-token>([^<]+)<\/d:sync-token>/.exec(xml)![1]!;
const renderedTexts = (page: Page) => page.evaluate(() => [...document.querySelectorAll('.dhx_cal_event')].map((e) => e.textContent ?? ''));

describe('CalDAV and the page, live both ways', () => {
  it('a CalDAV write appears live in the page, and a page write appears in the next sync', async () => {
    const a = await desk();
    const before = tokenIn((await syncReport('')).text);

    const put = await dav('PUT', '/dav/calendars/default/phone-1.ics', vcalendar('BEGIN:VEVENT', 'UID:phone-1@test', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Europe/Berlin:20260303T100000', 'DTEND;TZID=Europe/Berlin:20260303T110000', 'SUMMARY:From the phone <b>', 'END:VEVENT'), { 'Content-Type': 'text/calendar' });
    expect(put.status).toBe(201);
    await expect.poll(async () => (await renderedTexts(a.page)).some((t) => t.includes('From the phone <b>')), SECOND).toBe(true);

    // A series from CalDAV with an exception shows as its occurrences, less the cancelled one.
    await dav('PUT', '/dav/calendars/default/daily.ics', vcalendar('BEGIN:VEVENT', 'UID:daily@test', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Europe/Berlin:20260302T080000', 'DTEND;TZID=Europe/Berlin:20260302T081500', 'RRULE:FREQ=DAILY;COUNT=5', 'EXDATE;TZID=Europe/Berlin:20260304T080000', 'SUMMARY:Early check', 'END:VEVENT'));
    await expect.poll(async () => (await renderedTexts(a.page)).filter((t) => t.includes('Early check')).length, SECOND).toBe(4);

    // The page writes through the Scheduler's own data processor; the next sync has exactly that.
    await a.page.evaluate(() => scheduler.addEvent({ start_date: new Date(2026, 2, 5, 14), end_date: new Date(2026, 2, 5, 15), text: 'Written in the page' }));
    await expect.poll(() => suite.host.store.list('events').some((e) => e.text === 'Written in the page'), SECOND).toBe(true);
    const stored = suite.host.store.list('events').find((e) => e.text === 'Written in the page')!;
    const sync = await syncReport(before);
    expect(sync.text).toContain(`<d:href>/dav/calendars/default/${stored.id}.ics</d:href><d:propstat>`);
    expect(sync.text).toContain('<d:href>/dav/calendars/default/phone-1.ics</d:href>');
    const got = await dav('GET', `/dav/calendars/default/${stored.id}.ics`);
    expect(got.text).toContain('SUMMARY:Written in the page');
    expect(got.text).toContain('DTSTART;TZID=Europe/Berlin:20260305T140000');
  });

  it('the settings dialog: the time zone, feed URLs with copy buttons, a new feed address, and import by choosing or dropping a file', async () => {
    const a = await desk();
    await suite.host.call('POST', '/calendars', { name: 'Team Berlin', color: '#2563eb' });
    await a.page.click('#settings-button');
    await a.page.waitForSelector('#settings-dialog[data-loaded="true"]');
    expect(await a.page.inputValue('#zone-input')).toBe('Europe/Berlin');
    const feed = await a.page.inputValue('input[data-feed="all"]');
    expect(feed).toMatch(new RegExp(`^${suite.host.base}/feed/[A-Za-z0-9_-]{32}/all\\.ics$`));
    expect((await fetch(feed)).status).toBe(200);
    await a.page.click('#feed-list li:first-child button');
    expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(feed);

    // A new zone: searchable list, saved for the whole calendar.
    await a.page.fill('#zone-input', 'Europe/London');
    await a.page.click('#zone-form button[type="submit"]');
    await expect.poll(() => suite.host.store.get('settings', 'calendar')?.time_zone, SECOND).toBe('Europe/London');

    // A new feed address revokes the old one.
    await a.page.click('#feed-rotate');
    await a.page.click('#feed-rotate-yes');
    await expect.poll(() => a.page.inputValue('input[data-feed="all"]'), SECOND).not.toBe(feed);
    expect((await fetch(feed)).status).toBe(404);
    expect((await fetch(await a.page.inputValue('input[data-feed="all"]'))).status).toBe(200);

    // Import by choosing a file, into a calendar; the events arrive in the page live.
    await a.page.setInputFiles('#import-file', join(FIXTURES, 'google.ics'));
    await a.page.selectOption('#import-calendar', { label: 'Team Berlin' });
    await a.page.click('#import-form button[type="submit"]');
    await expect.poll(() => a.page.textContent('#import-result'), SECOND).toBe('Imported 3 events (1 repeating).');
    await a.page.click('#settings-close');
    await a.page.evaluate(() => scheduler.setCurrentView(new Date(2026, 2, 9), 'week'));
    await expect.poll(async () => (await renderedTexts(a.page)).some((t) => t.includes('Standup')), SECOND).toBe(true);
    // 09:30 in Berlin is 08:30 on the calendar's new London clock.
    expect(suite.host.store.list('events').find((e) => e.text === 'Standup' && e.rrule)).toMatchObject({ start_date: '2026-03-09 08:30' });

    // Dropping a file anywhere on the page opens the import with it.
    const dropped = vcalendar('BEGIN:VEVENT', 'UID:dropped@test', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260310T090000Z', 'DTEND:20260310T100000Z', 'SUMMARY:Dropped in', 'END:VEVENT');
    await a.page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'dropped.ics', { type: 'text/calendar' }));
      document.querySelector('#scheduler_here')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, dropped);
    await a.page.waitForSelector('#settings-dialog[open] #import-drop[data-staged="true"]');
    await a.page.click('#import-form button[type="submit"]');
    await expect.poll(() => a.page.textContent('#import-result'), SECOND).toBe('Imported 1 event.');
    expect(suite.host.store.list('events').find((e) => e.text === 'Dropped in')).toMatchObject({ ical_uid: 'dropped@test' });
  });
});
