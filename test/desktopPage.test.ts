import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeskInfo, DesktopState } from '../main/desktop/ipc.js';
import { browserSuite, openCalendar } from './helpers/browser.js';
import { TOKEN } from './helpers/liveHost.js';

// The page as the desktop window shows it, in chromium, with a stand-in for the preload's bridge
// (injected before the page's scripts run, as the preload is). The calendar comes from a real host.

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
const SECOND = { timeout: 1000 };

const suite = browserSuite({ artifacts: ARTIFACTS });
// Besides no dialogs (checked by the suite): no script error in any window.
const windows: Awaited<ReturnType<typeof suite.window>>[] = [];
afterEach(() => {
  for (const w of windows.splice(0)) expect(w.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(p))).toEqual([]);
});
const openWindow = async (setup?: Parameters<typeof suite.window>[0]) => {
  const w = await suite.window(setup);
  windows.push(w);
  return w;
};

const desk = (name: string, role: DeskInfo['role'], self = false): DeskInfo => ({ deskId: `${name}0123456789abcdef`, name, role, self });
const lobbyState = (found: DesktopState['found'] = []): DesktopState => ({ calendar: null, status: 'lobby', host: null, desks: [], found, notices: [] });
const calendarState = (over: Partial<DesktopState> = {}): DesktopState => ({
  calendar: { id: 'ab12ab12ab12ab12ab12ab12', name: 'Office' },
  status: 'starting',
  host: null,
  desks: [desk('alice', 'starting', true)],
  found: [],
  notices: [],
  ...over,
});

/** A window with the stand-in bridge: it records calls, and `__bridge.set` plays the desk's state changes. */
async function desktopWindow(state: DesktopState, options: { open?: boolean } = {}) {
  const w = await openWindow((context) => context.addInitScript(
    ({ state, connection }) => {
      let current = state;
      const listeners = new Set<(s: unknown) => void>();
      const control = { calls: [] as unknown[][], fail: {} as Record<string, string>, set(next: any) {
        current = next;
        listeners.forEach((l) => l(next));
      } };
      const call = (name: string, ...args: unknown[]) => {
        control.calls.push([name, ...args]);
        if (control.fail[name]) return Promise.reject(new Error(control.fail[name]));
        return Promise.resolve();
      };
      Object.assign(window, {
        __bridge: control,
        lanScheduler: {
          connection: () => call('connection').then(() => connection),
          state: () => Promise.resolve(current),
          onState(listener: (s: unknown) => void) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
          createCalendar: (name: string) => call('createCalendar', name),
          joinCalendar: (id: string, key: string) => call('joinCalendar', id, key),
          joinInvite: (text: string) => call('joinInvite', text),
          copyInvite: () => call('copyInvite'),
          leave: () => call('leave'),
        },
      });
    },
    { state, connection: { baseUrl: suite.host.base, token: TOKEN } },
  ));
  if (options.open !== false) await w.page.goto(`${suite.host.base}/`);
  return { ...w, context: suite.contexts.at(-1)! };
}

const calls = (page: Page) => page.evaluate(() => (window as any).__bridge.calls as unknown[][]);
const setState = (page: Page, state: DesktopState) => page.evaluate((s) => (window as any).__bridge.set(s), state);
const failNext = (page: Page, name: string, message: string) => page.evaluate(([n, m]) => ((window as any).__bridge.fail[n!] = m), [name, message]);
const roleText = (page: Page) => page.textContent('#desk-role');

/** A week with a few events in it, for the README. */
async function screenshotWeek(page: Page, file: string) {
  const events = [
    ['Team standup', '2026-03-02 09:00', '2026-03-02 09:30'],
    ['Client call: Müller GmbH', '2026-03-03 11:00', '2026-03-03 12:00'],
    ['Meeting room: design review', '2026-03-04 14:00', '2026-03-04 15:30'],
    ['Payroll run', '2026-03-05 10:00', '2026-03-05 11:00'],
    ['Office lunch', '2026-03-06 12:30', '2026-03-06 13:30'],
  ];
  for (const [text, start_date, end_date] of events) await suite.host.call('POST', '/events', { text, start_date, end_date });
  await page.evaluate(() => (window as any).scheduler.setCurrentView(new Date(2026, 2, 2), 'week'));
  await expect.poll(() => page.locator('.dhx_cal_event').count(), SECOND).toBe(events.length);
  await page.screenshot({ path: join(ARTIFACTS, file) });
}

describe('the desktop window on first run', () => {
  it('offers to create a calendar for the office, and creates it through the bridge', async () => {
    const { page } = await desktopWindow(lobbyState());
    await page.waitForSelector('#first-run:not([hidden])');
    expect(await page.isHidden('#app')).toBe(true);
    expect(await page.isHidden('#token-screen')).toBe(true);
    expect(await page.isHidden('.tabs')).toBe(true);
    expect(await page.textContent('#create-form h1')).toBe('Create a calendar for this office');
    expect(await page.inputValue('#create-name')).toBe('Office');
    expect(await page.isVisible('#found-empty')).toBe(true);

    await page.fill('#create-name', '   ');
    await page.click('#create-form button');
    expect(await page.textContent('#create-error')).toBe('Give the calendar a name.');
    await failNext(page, 'createCalendar', 'Keep the calendar name under 80 characters.');
    await page.fill('#create-name', 'Second floor');
    await page.click('#create-form button');
    await page.waitForSelector('#create-error:text("under 80 characters")');
    expect(await page.isEnabled('#create-form button')).toBe(true);
    await failNext(page, 'createCalendar', '');
    await page.click('#create-form button');
    await expect.poll(() => page.textContent('#create-form button'), SECOND).toBe('Opening the calendar…');
    expect(await calls(page)).toEqual([
      ['createCalendar', 'Second floor'],
      ['createCalendar', 'Second floor'],
    ]);
    // No calendar yet: the page asked for no connection and loaded no data.
    expect((await calls(page)).some(([name]) => name === 'connection')).toBe(false);
    // Names announced on the LAN are anyone's text: shown as text.
    await setState(page, lobbyState([{ id: 'ef56ef56ef56ef56ef56ef56', name: '<img src=x onerror=alert(1)>' }]));
    await expect.poll(() => page.locator('#found-list .found-name').allTextContents(), SECOND).toEqual(['<img src=x onerror=alert(1)>']);
    expect(await page.locator('#first-run img').count()).toBe(0);
  });

  it('lists calendars found on the LAN as they appear, and joins one with its key or a pasted invite', async () => {
    const sales = { id: 'cd34cd34cd34cd34cd34cd34', name: 'Sales' };
    const design = { id: 'ab12ab12ab12ab12ab12ab12', name: 'Design studio' };
    const { page } = await desktopWindow(lobbyState([sales]));
    await page.waitForSelector('#first-run:not([hidden])');
    expect(await page.locator('#found-list .found-name').allTextContents()).toEqual(['Sales']);
    await page.fill(`[data-calendar-id="${sales.id}"] input`, 'half-typed');

    await setState(page, lobbyState([design, sales]));
    await expect.poll(() => page.locator('#found-list .found-name').allTextContents(), SECOND).toEqual(['Design studio', 'Sales']);
    expect(await page.isHidden('#found-empty')).toBe(true);
    expect(await page.inputValue(`[data-calendar-id="${sales.id}"] input`)).toBe('half-typed'); // kept while the list moved
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-first-run.png') });

    await failNext(page, 'joinCalendar', 'That key does not open this calendar.');
    await page.fill(`[data-calendar-id="${design.id}"] input`, 'WrongKey123');
    await page.click(`[data-calendar-id="${design.id}"] button`);
    await page.waitForSelector(`[data-calendar-id="${design.id}"] .error:text("does not open this calendar")`);
    await failNext(page, 'joinCalendar', '');
    const invite = 'You are invited to the "Design" calendar in LAN Scheduler.\nDesk invite: lansched://join?c=ab12ab12ab12ab12ab12ab12&n=Design&k=od4WjNEB-q7PogcnPBb9xKRh&g=0\nIn a browser: https://192.168.1.20:3210/#token=abc';
    await page.fill(`[data-calendar-id="${design.id}"] input`, invite);
    await page.click(`[data-calendar-id="${design.id}"] button`);
    await expect.poll(() => calls(page), SECOND).toEqual([
      ['joinCalendar', design.id, 'WrongKey123'],
      ['joinCalendar', design.id, 'od4WjNEB-q7PogcnPBb9xKRh'],
    ]);
  });

  it('joins with a whole pasted invite (or a key) through the bridge, and says why it could not', async () => {
    const { page } = await desktopWindow(lobbyState());
    await page.waitForSelector('#first-run:not([hidden])');
    await failNext(page, 'joinInvite', 'No calendar on this network opens with that key.');
    await page.fill('#invite-text', 'od4WjNEB-q7PogcnPBb9xKRh');
    await page.click('#invite-form button');
    await page.waitForSelector('#invite-error:text("No calendar on this network opens with that key.")');
    expect(await page.isEnabled('#invite-form button')).toBe(true);
    await failNext(page, 'joinInvite', '');
    await page.fill('#invite-text', 'Desk invite: lansched://join?c=ab12ab12ab12ab12ab12ab12&n=Design&k=od4WjNEB-q7PogcnPBb9xKRh&g=0');
    await page.click('#invite-form button');
    await expect.poll(() => page.textContent('#invite-form button'), SECOND).toBe('Opening the calendar…');
    expect((await calls(page)).map(([name]) => name)).toEqual(['joinInvite', 'joinInvite']);
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-first-run-invite.png') });
  });
});

describe('the desktop window with a calendar', () => {
  it('says hosting, connected to a named desk, taking over and offline as the desk\'s state changes', async () => {
    const { page, context } = await desktopWindow(calendarState());
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#link-state[data-state="live"]');
    expect(await calls(page)).toEqual([['connection']]);
    expect(await page.isVisible('#desk-status')).toBe(true);
    expect(await roleText(page)).toBe('Starting…');

    await setState(page, calendarState({ status: 'hosting', desks: [desk('alice', 'host', true)] }));
    await expect.poll(() => roleText(page), SECOND).toBe('Hosting');
    const bob = desk('bob-pc', 'host');
    await setState(page, calendarState({ status: 'connected', host: bob, desks: [desk('alice', 'peer', true), bob, desk('carol', 'peer'), desk('dan', 'peer')] }));
    await expect.poll(() => roleText(page), SECOND).toBe('Connected to bob-pc');
    await screenshotWeek(page, 'desktop-connected.png');
    await setState(page, calendarState({ status: 'taking-over', desks: [desk('alice', 'peer', true)] }));
    await expect.poll(() => roleText(page), SECOND).toBe('Taking over…');
    await setState(page, calendarState({ status: 'offline' }));
    await expect.poll(() => roleText(page), SECOND).toBe('Offline');
    // What the person should know about the desk is said in words in the top bar.
    await setState(page, calendarState({ status: 'connected', host: bob, notices: ['This desk’s clock is 5 min fast. Set this computer’s clock.'] }));
    await expect.poll(() => page.textContent('#desk-notice'), SECOND).toBe('This desk’s clock is 5 min fast. Set this computer’s clock.');
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-clock-notice.png') });
    await setState(page, calendarState({ status: 'offline' }));
    await expect.poll(() => page.isHidden('#desk-notice'), SECOND).toBe(true);
    // The window's own view of the network counts too.
    await setState(page, calendarState({ status: 'hosting' }));
    await expect.poll(() => roleText(page), SECOND).toBe('Hosting');
    await context.setOffline(true);
    await expect.poll(() => roleText(page), SECOND).toBe('Offline');
    await context.setOffline(false);
    await expect.poll(() => roleText(page), SECOND).toBe('Hosting');
  });

  it('shows who is online by name, the host marked, as text', async () => {
    const desks = [desk('alice', 'peer', true), desk('bob-pc', 'host'), desk('<img src=x onerror=alert(1)>', 'peer'), desk('dan', 'peer'), desk('eve', 'peer'), desk('frank', 'peer'), desk('gina', 'peer')];
    const { page } = await desktopWindow(calendarState({ status: 'connected', host: desks[1]!, desks }));
    await page.waitForSelector('#link-state[data-state="live"]');
    await expect.poll(() => page.locator('#desk-people .person:not(.more)').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), SECOND).toEqual([
      'alice (this desk)',
      'bob-pc, hosting',
      '<img src=x onerror=alert(1)>',
      'dan',
      'eve',
    ]);
    expect(await page.locator('#desk-people .person').allTextContents()).toEqual(['AL', 'BP', '<S', 'DA', 'EV', '+2']);
    expect(await page.getAttribute('#desk-people .more', 'title')).toBe('frank, gina');
    expect(await page.locator('#desk-people img').count()).toBe(0);
  });

  it('copies the invite through the bridge, and leaves only after a confirmation', async () => {
    const { page } = await desktopWindow(calendarState({ status: 'hosting' }));
    await page.waitForSelector('#link-state[data-state="live"]');
    await page.click('#invite-button');
    await page.waitForSelector('.toast:has-text("Invite copied")');
    // The page never shows the key or the token.
    expect(await page.textContent('body')).not.toContain(TOKEN);

    await page.click('#leave-button');
    await page.waitForSelector('#leave-dialog[open]');
    expect(await page.textContent('#leave-name')).toBe('Office');
    await page.click('#leave-cancel');
    await page.waitForSelector('#leave-dialog:not([open])', { state: 'hidden' });
    expect(await calls(page)).toEqual([['connection'], ['copyInvite']]);
    await page.click('#leave-button');
    await page.click('#leave-confirm');
    await expect.poll(() => calls(page), SECOND).toEqual([['connection'], ['copyInvite'], ['leave']]);
    expect(await page.isDisabled('#leave-button')).toBe(true);
  });
});

describe('the page in a plain browser', () => {
  it('shows no desk controls, and who is online once a desk publishes presence', async () => {
    const w = await openWindow();
    await openCalendar(w.page, suite.host.base, TOKEN);
    expect(await w.page.isHidden('#desk-status')).toBe(true);
    expect(await w.page.isHidden('#first-run')).toBe(true);
    await expect.poll(() => suite.host.server.publish('presence', { type: 'update-presence', value: { desks: [desk('bob-pc', 'host')] } }), SECOND).toBe(1);
    await w.page.waitForSelector('#desk-status:not([hidden])');
    expect(await w.page.getAttribute('#desk-people .person', 'aria-label')).toBe('bob-pc, hosting');
    for (const id of ['#desk-role', '#invite-button', '#leave-button']) expect(await w.page.isHidden(id)).toBe(true);
  });
});
