import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUIT_LIMIT_MS } from '../main/desktop/quitting.js';
import { parseDeskInvite } from '../main/trust/invite.js';
import { calendarSecrets } from '../main/trust/keys.js';
import { desks, type Desk } from './helpers/desks.js';
import { requireBuiltCli, within } from './helpers/hostProcess.js';
import { createLan, netnsUnavailable, waitForOutput, type Lan } from './helpers/netns.js';
import { startStandInDesk, type Report, type StandInDesk } from './helpers/standInDesk.js';
import { SOON_BODY } from './helpers/reminders.js';

// The built desktop app (dist/main/index.js with the real built preload) under Node, with the
// stand-in `electron` of test/helpers/electronStandIn: its window is Debian's chromium, its tray,
// menus, notifications and power events are recorders the test drives. Every app runs in a
// network namespace of a simulated LAN, so its mDNS and its desk port stay there.

const ARTIFACTS = join(import.meta.dirname, '.artifacts');
const unavailable = (await netnsUnavailable()) ?? (existsSync('/usr/bin/chromium') || process.env.CHROMIUM_PATH ? undefined : 'they need Debian’s chromium');
if (unavailable) console.warn(`desktop shell tests skipped: ${unavailable}`);

/** How much later than its own timer the app may exit on a busy 2-core machine. */
const TIMER_SLACK_MS = 500;

describe.skipIf(unavailable !== undefined)('the desktop app with a stand-in Electron', () => {
  let lan: Lan;
  const apps: StandInDesk[] = [];
  const groups: ReturnType<typeof desks>[] = [];
  beforeAll(async () => {
    requireBuiltCli();
    if (!existsSync(join(import.meta.dirname, '..', 'dist', 'main', 'index.js'))) throw new Error('dist/main/index.js is missing: run npm run build');
    await mkdir(ARTIFACTS, { recursive: true });
    lan = await createLan({ peers: 2 });
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      for (const a of apps) console.log(`--- app\n${a.run.stdout()}${a.run.stderr()}\n${a.reports.map((r) => r.report).join(' ')}`);
      for (const g of groups) console.log(g.dump());
    }
    for (const a of apps.splice(0)) await a.close();
    for (const g of groups.splice(0)) await g.cleanup();
  });
  afterAll(() => lan?.destroy());

  const start = async (index: number, options: Parameters<typeof startStandInDesk>[2] = {}) => {
    const app = await startStandInDesk(lan, index, options);
    apps.push(app);
    return app;
  };
  const waitFor = (app: StandInDesk, selector: string, ms = 30_000) => app.page('waitForSelector', selector, { timeout: ms });
  const role = (app: StandInDesk) => app.page<string>('textContent', '#desk-role');

  /** First run: create "Office"; the window moves to the calendar, and this desk hosts it. */
  async function createCalendar(app: StandInDesk) {
    await waitFor(app, '#first-run:not([hidden])');
    await app.page('fill', '#create-name', 'Office');
    await app.page('click', '#create-form button');
    await waitFor(app, 'body[data-ready="true"]');
    await waitFor(app, '#desk-role[data-status="hosting"]');
  }

  /** The invite on the clipboard after the tray's Copy invite. */
  async function copyInvite(app: StandInDesk) {
    await app.command('menu', { where: 'tray', path: ['Copy invite'] });
    const text = await app.command<string>('clipboard');
    return { text, invite: parseDeskInvite(text) };
  }

  /** A headless desk (the CLI) joining the app's calendar by its invite, in peer `index`. */
  async function follower(app: StandInDesk, index: number): Promise<{ desk: Desk; group: ReturnType<typeof desks> }> {
    const { invite, text } = await copyInvite(app);
    const group = desks(lan, invite.calendar);
    groups.push(group);
    const line = /lansched:\/\/join\?\S+/.exec(text)![0];
    const desk = await group.start(index, { args: ['--invite', line] });
    await waitForOutput(desk.run, /^joined desk/m, 30_000, 'the headless desk to join');
    await waitFor(app, '#desk-people[data-count="2"]');
    return { desk, group };
  }

  const elapsed = (from: Report, to: Report) => to.at - from.at;

  it('starts cold on the first-run screen; creating a calendar shows it, hosting; logs and diagnostics hold no secret; a backup exports from the menu', async () => {
    const app = await start(0);
    await waitFor(app, '#first-run:not([hidden])');
    await app.page('screenshot', { path: join(ARTIFACTS, 'shell-first-run.png') });
    const tray = await app.next('tray');
    expect(tray).toMatchObject({ template: false, empty: false });
    expect(String(tray.image)).toMatch(/assets\/tray\.png$/);
    // Every permission the page could ask for is refused, notifications included.
    expect(await app.command('permissions')).toEqual({ request: false, check: false });
    const window = app.seen('window')!;
    expect(window.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });

    await createCalendar(app);
    expect(await role(app)).toBe('Hosting');
    await app.page('screenshot', { path: join(ARTIFACTS, 'shell-hosting.png') });
    const { invite } = await copyInvite(app);
    const secrets = [invite.calendar.joinKey, calendarSecrets(invite.calendar.joinKey).browserToken];

    await app.command('menu', { where: 'app', path: ['Help', 'Copy diagnostics'] });
    const diagnostics = await app.command<string>('clipboard');
    expect(diagnostics).toMatch(/^LAN Scheduler 0\.1\.0\n/);
    expect(diagnostics).toContain('role: hosting');
    expect(diagnostics).toContain('calendar: Office');
    await app.command('menu', { where: 'app', path: ['Help', 'Open logs folder'] });
    const opened = await app.next('open-path');
    expect(opened.path).toBe(join(app.appData, 'LAN Scheduler', 'logs'));
    const log = await readFile(join(String(opened.path), 'desktop.log'), 'utf8');
    expect(log).toMatch(/ info /);
    for (const secret of secrets) {
      expect(diagnostics).not.toContain(secret);
      expect(log).not.toContain(secret);
    }

    // Calendar → Export backup…: a save dialog, then one file a new desk can be started from.
    const backup = join(app.appData, 'office.backup');
    await app.command('saveAs', { path: backup });
    await app.command('menu', { where: 'tray', path: ['Export backup…'] });
    expect(await app.next('save-dialog')).toMatchObject({ defaultPath: expect.stringMatching(/lan-scheduler-\d{4}-\d{2}-\d{2}\.backup$/) });
    expect(await app.next('message-box', (r) => r.message === 'The backup is saved.')).toMatchObject({ detail: expect.stringContaining(backup) });
    const [header] = (await readFile(backup, 'utf8')).split('\n');
    expect(JSON.parse(header!)).toMatchObject({ format: 'lan-scheduler-backup' });
  });

  it('a second start during the cold start gives one window, with the page', async () => {
    const first = await start(0, { holdReady: true });
    await first.next('lock', (r) => r.got === true);
    // Started again before the first is ready: it hands its command line over and exits.
    const second = await start(0, { appData: first.appData });
    expect((await second.exited).code).toBe(0);
    expect((await second.recorded()).find((r) => r.report === 'lock')).toMatchObject({ got: false });
    await first.next('second-instance-queued');
    await first.command('ready');
    // The tray comes once the desk has started: by then every window the app opens is open.
    await first.next('tray');
    await waitFor(first, '#first-run:not([hidden])');
    const windows = await first.command<{ url: string; visible: boolean }[]>('windows');
    expect(windows).toHaveLength(1);
    expect(windows[0]!.visible).toBe(true);
    expect(windows[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('joins from the lobby a calendar that a desk on the LAN hosts, with its key', async () => {
    const group = desks(lan);
    groups.push(group);
    const host = await group.start(1);
    await waitForOutput(host.run, /^hosting/m, 30_000, 'the headless desk to host');
    const app = await start(0);
    await waitFor(app, '#found-list .found');
    expect(await app.page('textContent', '#found-list .found-name')).toBe('Office');
    await app.page('fill', '#found-list .found input', group.calendar.joinKey);
    await app.page('click', '#found-list .found button');
    await waitFor(app, 'body[data-ready="true"]');
    await waitFor(app, '#desk-role[data-status="connected"]');
    expect(await role(app)).toBe('Connected to desk1');
  });

  it('reminds once, opens the event from the notification, hands over on quit, and shows a reminder missed while off once', async () => {
    const app = await start(0);
    await createCalendar(app);
    const { desk: other, group } = await follower(app, 1);

    // An event starting within the hour, "1 hour before": due at once.
    const id = await app.evaluate(() => {
      const s = (window as any).scheduler;
      const start = new Date(Math.floor((Date.now() + 20 * 60_000) / 900_000) * 900_000);
      return new Promise((resolve) => {
        const tid = s.addEvent({ start_date: start, end_date: new Date(start.getTime() + 30 * 60_000), text: 'Stand-up' });
        s.attachEvent('onEventIdChange', (old: unknown, id: unknown) => String(old) === String(tid) && resolve(id));
      });
    });
    await app.evaluate((id) => (window as any).scheduler.showLightbox(id), id);
    await app.page('selectOption', '.reminder-choice', '60');
    await app.page('screenshot', { path: join(ARTIFACTS, 'shell-remind-me.png') });
    await app.page('click', '.dhx_save_btn_set');
    const shown = await app.next('notification');
    expect(shown).toMatchObject({ title: 'Stand-up' });
    expect(String(shown.body)).toMatch(SOON_BODY);

    // Clicking it opens the event in the window.
    await app.command('clickNotification', { notification: shown.notification });
    await waitFor(app, '.dhx_cal_quick_info');
    expect(await app.page('textContent', '.dhx_cal_qi_title')).toContain('Stand-up');
    expect(await app.evaluate(() => document.body.dataset.openedEvent)).toBe(String(id));
    await app.page('screenshot', { path: join(ARTIFACTS, 'shell-notification-opened.png') });

    // Quit from the tray: the window hides, the other desk takes over by hand-over (not as after a crash).
    await app.command('menu', { where: 'tray', path: ['Quit LAN Scheduler'] });
    expect((await app.exited).code).toBe(0);
    const recorded = await app.recorded();
    const quitAt = recorded.find((r) => r.report === 'before-quit')!;
    const exit = recorded.find((r) => r.report === 'exit')!;
    expect(quitAt.prevented).toBe(true);
    expect(elapsed(quitAt, exit)).toBeLessThanOrEqual(QUIT_LIMIT_MS + TIMER_SLACK_MS);
    expect(recorded.findIndex((r) => r.report === 'tray-destroyed')).toBeLessThan(recorded.indexOf(exit));
    expect(recorded.some((r) => r.report === 'hide')).toBe(true);
    await waitForOutput(other.run, /^taking over: hosting/m, 15_000, 'the other desk to take over');
    expect(other.run.stdout()).not.toMatch(/is gone/);
    expect(recorded.filter((r) => r.report === 'notification')).toHaveLength(1);

    // While the app is off: a room whose reminder is for everyone, and a meeting in it, due now.
    const room = await other.write('POST', '/calendars', { name: 'Room A', color: '#16a34a', reminder_minutes: 5 });
    expect(room.status).toBe(200);
    const wall = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16).replace('T', ' ');
    const meeting = await other.write('POST', '/events', { text: 'Visit', start_date: wall(Date.now() + 2 * 60_000), end_date: wall(Date.now() + 32 * 60_000), calendar_id: (room.json as { tid: string }).tid });
    expect(meeting.status).toBe(200);

    const again = await start(0, { appData: app.appData });
    const missed = await again.next('notification', undefined, 40_000);
    expect(missed).toMatchObject({ title: 'Visit' });
    // Its reminder came due (5 min before) while the app was off; the meeting itself is still ahead.
    expect(String(missed.body)).toMatch(/^In \d+ min · /);
    expect(again.reports.filter((r) => r.report === 'notification').map((r) => r.title)).toEqual(['Visit']);
    void group;
  });

  it('quits within the limit when the successor cannot answer; it takes over as after a crash', async () => {
    const app = await start(0);
    await createCalendar(app);
    const { desk: other } = await follower(app, 1);
    other.run.child.kill('SIGSTOP');
    try {
      await app.command('menu', { where: 'tray', path: ['Quit LAN Scheduler'] });
      expect((await within(app.exited, QUIT_LIMIT_MS + 10_000, 'the app to exit')).code).toBe(0);
    } finally {
      other.run.child.kill('SIGCONT');
    }
    const recorded = await app.recorded();
    const quitAt = recorded.find((r) => r.report === 'before-quit')!;
    const exit = recorded.find((r) => r.report === 'exit')!;
    expect(elapsed(quitAt, exit)).toBeLessThanOrEqual(QUIT_LIMIT_MS + TIMER_SLACK_MS);
    // The hand-over ended (its channel went silent) and the desk left cleanly, without waiting for the limit.
    expect(app.run.stderr()).toMatch(/hand-over to desk \w+ failed/);
    await waitForOutput(other.run, /^taking over: hosting/m, 30_000, 'the other desk to take over');
  });

  it('on an OS shutdown, exits within 4 s; the other desk takes over', async () => {
    const app = await start(0);
    await createCalendar(app);
    const { desk: other } = await follower(app, 1);
    // Linux: the app delays the shutdown (as logind allows) for a short hand-over only.
    expect(await app.command('emit', { target: 'powerMonitor', event: 'shutdown' })).toEqual({ prevented: true });
    expect((await within(app.exited, 10_000, 'the app to exit')).code).toBe(0);
    const recorded = await app.recorded();
    const emitted = recorded.find((r) => r.report === 'emitted' && r.event === 'shutdown')!;
    const exit = recorded.find((r) => r.report === 'exit')!;
    expect(elapsed(emitted, exit)).toBeLessThanOrEqual(4000);
    expect(app.run.stdout()).toContain('the system is shutting down: handing over for 3.5 s at most');
    expect(recorded.findIndex((r) => r.report === 'tray-destroyed')).toBeLessThan(recorded.indexOf(exit));
    await waitForOutput(other.run, /^taking over: hosting/m, 30_000, 'the other desk to take over');
  });
});
