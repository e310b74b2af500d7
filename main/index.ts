// The Electron composition root: the only main-process file that imports `electron`. It picks
// the real adapters (mDNS, the peer runtime, the clipboard, notifications), owns the window, the
// tray and the menus, and hands everything else to plain Node under main/desktop/.
import {
  app,
  BrowserWindow,
  clipboard,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  powerMonitor,
  session,
  shell,
  Tray,
  type MenuItemConstructorOptions,
} from 'electron';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDesktop } from './desktop/desktop.js';
import { Channel, isOwnFrame, type OpenTarget } from './desktop/ipc.js';
import { fromOurPage, serveIpc } from './desktop/ipcServe.js';
import { guardContents } from './desktop/windowGuards.js';
import { startLobby } from './desktop/lobby.js';
import { createDeskLog, diagnostics } from './desktop/logs.js';
import { deskMenu, helpMenu, type MenuActions } from './desktop/menus.js';
import { createQuitSequence, HANDOVER_MS } from './desktop/quitting.js';
import { reminderText, type Reminder } from './desktop/reminderPlan.js';
import { startDeskReminders } from './desktop/reminders.js';
import { loadSettings, saveSettings, type Settings } from './desktop/settings.js';
import { consoleLogger } from './log.js';
import { createDiscovery } from './peer/discovery.js';
import { findCalendarByKey } from './peer/probe.js';
import { startPeer } from './peer/runtime.js';
import { writeBackup } from './store/backup.js';
import { loadOrCreateDeskCertificate } from './trust/certificate.js';

// Built to dist/main/index.js: the page, the preload and the icons are found from there.
const here = fileURLToPath(new URL('.', import.meta.url));
const PAGE_DIR = join(here, '..', 'renderer');
const PRELOAD = join(here, '..', 'preload', 'index.cjs');
const ASSETS = join(here, 'assets');

// Before `ready`: one name and one data folder, whether started with `npm start` or installed.
app.setName('LAN Scheduler');
app.setPath('userData', join(app.getPath('appData'), 'LAN Scheduler'));
if (process.platform === 'win32') app.setAppUserModelId('org.lanscheduler.desktop');

// The log lives beside the data, and every line passes through the secrets of the calendar now.
let secretsNow: () => string[] = () => [];
const deskLog = createDeskLog({ dir: join(app.getPath('userData'), 'logs'), echo: consoleLogger(), secrets: () => secretsNow() });
const log = deskLog.logger;

if (!app.requestSingleInstanceLock()) {
  // Another LAN Scheduler runs for this user: it shows its window (second-instance) and this one goes.
  app.exit(0);
} else {
  // Awaited here, before `ready`: whatever must exist when the app starts.
  const settings = await loadSettings(dataDirOf());
  // Not awaited: with an ESM entry Electron emits `ready` only once this module has finished
  // evaluating, so a top-level await that reaches app.whenReady() would hang the app for good
  // (electron/electron#40719).
  run(settings).catch((err) => {
    log.error(`could not start: ${(err as Error).stack ?? err}`);
    app.exit(1);
  });
}

/**
 * Desk files go one level below userData: userData also holds Chromium's caches, and on Windows
 * and macOS it is the headless host's default data folder, whose files a desk must not share.
 */
function dataDirOf(): string {
  return join(app.getPath('userData'), 'data');
}

/** The name this desk shows as to colleagues: the user's login name, else the computer's. */
function person(): string {
  try {
    return userInfo().username || hostname();
  } catch {
    return hostname();
  }
}

async function run(kept: Settings) {
  const dataDir = dataDirOf();
  let settings = kept;
  const desktop = createDesktop({
    dataDir,
    pageDir: PAGE_DIR,
    log,
    person: person(),
    startPeer,
    // Well inside the quit limits: a successor that cannot take over by then takes over as after a crash.
    handoverMs: HANDOVER_MS,
    // The lobby only browses: it lists calendars on the LAN and announces nothing.
    startLobby: () => startLobby({ pageDir: PAGE_DIR, log, browse: () => createDiscovery({ port: 0, log }) }),
    tryKey: async (joinKey, hints) => findCalendarByKey({ cert: await loadOrCreateDeskCertificate(dataDir, log), joinKey, hints, log, name: person() }),
  });
  secretsNow = () => desktop.secrets();
  const reminders = startDeskReminders({ current: () => desktop.calendarStore(), notify: (r) => showReminder(r), log });
  let win: BrowserWindow | null = null;
  let tray: Tray | null = null;
  /** An event a notification asked to open, until the page has taken it. */
  let pendingOpen: OpenTarget | null = null;

  const quit = createQuitSequence({
    platform: process.platform,
    log,
    close: () => reminders.close().then(() => desktop.close()),
    hide: () => win?.hide(),
    beforeExit: () => {
      tray?.destroy();
      tray = null;
    },
    exit: (code) => app.exit(code),
    quit: () => app.quit(),
  });
  app.on('before-quit', (event) => quit.beforeQuit(event));
  app.on('will-quit', () => quit.willQuit());
  app.on('window-all-closed', () => {
    if (!settings.keepHostingWhenClosed) app.quit();
  });
  // Both may come before the desk has started: the window then waits for the page's address.
  app.on('second-instance', () => openWindow());
  app.on('activate', () => openWindow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => quit.signal(signal));

  // Every web contents, present and future: no new windows, no navigation off our own origin,
  // no <webview>. Links to the web open in the system browser.
  const openOutside = (url: string) => {
    if (/^https?:\/\//i.test(url)) shell.openExternal(url).catch((err) => log.warn(`opening ${url}: ${(err as Error).message}`));
  };
  app.on('web-contents-created', (_event, contents) => guardContents(contents, () => desktop.origin(), openOutside));

  // The window follows the desk from the start: a window opened early loads the page once there is one.
  const load = (target: BrowserWindow, origin: string) =>
    target.loadURL(`${origin}/`).catch((err) => log.warn(`loading the page: ${(err as Error).message}`));
  const showsOurPage = () => win !== null && !win.isDestroyed() && isOwnFrame(win.webContents.getURL(), desktop.origin());
  desktop.onOrigin((origin) => {
    if (win && !win.isDestroyed()) void load(win, origin);
  });
  desktop.onState((state) => {
    // Only to our own page: the state names the desks of the calendar.
    if (showsOurPage()) win!.webContents.send(Channel.stateChanged, state);
    updateMenus();
  });

  await app.whenReady();
  // The page needs no camera, notification, clipboard-read or any other permission.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  // Typed without it, but Electron passes an event (see main/desktop/quitting.ts for what each platform does).
  (powerMonitor as unknown as NodeJS.EventEmitter).on('shutdown', (event?: { preventDefault(): void }) => quit.shutdown(event));

  // IPC: only from the top frame of our window, showing our own page; arguments checked first.
  serveIpc(ipcMain, {
    trusted: (event) => fromOurPage(event, win?.webContents, desktop.origin()),
    log,
    handlers: {
      [Channel.connection]: () => desktop.connection(),
      [Channel.state]: () => desktop.state(),
      [Channel.createCalendar]: (name) => desktop.createCalendar(name),
      [Channel.joinCalendar]: (calendarId, joinKey) => desktop.joinCalendar(calendarId, joinKey),
      [Channel.joinInvite]: (text) => desktop.joinInvite(text),
      [Channel.copyInvite]: () => clipboard.writeText(desktop.invite()),
      [Channel.leave]: () => desktop.leave(),
      [Channel.reminders]: async () => {
        const open = pendingOpen;
        pendingOpen = null;
        return { choices: await reminders.choices(), open };
      },
      [Channel.setReminder]: (eventId, choice) => reminders.setChoice(eventId, choice),
      [Channel.hideCalendars]: (ids) => reminders.setHidden(ids),
    },
  });

  function openWindow() {
    if (quit.quitting() || !app.isReady()) return;
    if (win) {
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
      return;
    }
    const created = new BrowserWindow({
      width: 1320,
      height: 860,
      minWidth: 760,
      minHeight: 520,
      show: false,
      title: 'LAN Scheduler',
      icon: join(ASSETS, 'icon.png'),
      backgroundColor: '#f6f7fb',
      webPreferences: {
        preload: PRELOAD,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInSubFrames: false,
        webviewTag: false,
        spellcheck: false,
        devTools: !app.isPackaged,
      },
    });
    win = created;
    // Hidden until the page is there: a window opened during start shows once the desk has an address.
    created.once('ready-to-show', () => created.show());
    created.on('closed', () => {
      if (win === created) win = null;
    });
    // Windows ends the process right after this; the store already has every write, and the other desks take over.
    created.on('session-end', () => log.info('Windows is ending the session; the other desks take over'));
    const origin = desktop.origin();
    if (origin) void load(created, origin);
  }

  /** A reminder as a system notification; clicking it opens the event in the window. */
  const showing = new Set<Notification>();
  function showReminder(reminder: Reminder) {
    if (!Notification.isSupported()) {
      log.warn(`reminder for "${reminder.text}" not shown: this system has no notifications`);
      return;
    }
    const notification = new Notification({ ...reminderText(reminder, Date.now()), silent: false });
    // Held until closed: a notification that is garbage-collected no longer answers clicks.
    showing.add(notification);
    if (showing.size > 20) showing.delete(showing.values().next().value!);
    notification.on('close', () => showing.delete(notification));
    notification.on('click', () => {
      pendingOpen = { eventId: reminder.eventId, series: reminder.series, start: reminder.start };
      openWindow();
      if (showsOurPage()) win!.webContents.send(Channel.openEvent, pendingOpen);
    });
    notification.show();
  }

  /** Removes a person: a new key for every desk connected now, after the person confirms. */
  async function changeKey() {
    const { response } = await dialog.showMessageBox({
      type: 'warning',
      buttons: ['Change key', 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      message: 'Make a new key for this calendar?',
      detail:
        'Every desk connected now gets the new key. Every earlier invite stops working, for desks and browsers alike: use this when someone should no longer have the calendar. Desks that are off now, and browsers, need a new invite.',
    });
    if (response !== 0) return;
    try {
      await desktop.changeKey();
      clipboard.writeText(desktop.invite());
      await dialog.showMessageBox({ type: 'info', message: 'The calendar has a new key.', detail: 'The new invite is on the clipboard: send it to colleagues whose desks were off, and to people who use a browser.' });
    } catch (err) {
      dialog.showErrorBox('The key was not changed', (err as Error).message);
    }
  }

  /** One file with every record and deletion, consistent while colleagues go on writing (restore: README, "Your data"). */
  async function exportBackup() {
    const calendar = desktop.calendarStore();
    if (!calendar) return;
    const day = new Date().toISOString().slice(0, 10);
    const { canceled, filePath } = await dialog.showSaveDialog({ title: 'Export backup', defaultPath: join(app.getPath('documents'), `lan-scheduler-${day}.backup`) });
    if (canceled || !filePath) return;
    try {
      const info = await writeBackup(calendar.store, filePath);
      await dialog.showMessageBox({ type: 'info', message: 'The backup is saved.', detail: `${info.records.toLocaleString()} records and deletions in ${filePath}. A new calendar folder is started from it with the host's --restore (README, “Your data”).` });
    } catch (err) {
      dialog.showErrorBox('The backup was not saved', (err as Error).message);
    }
  }

  const actions: MenuActions = {
    open: () => openWindow(),
    copyInvite() {
      try {
        clipboard.writeText(desktop.invite());
      } catch (err) {
        log.warn(`copying the invite: ${(err as Error).message}`);
      }
    },
    changeKey: () => void changeKey(),
    exportBackup: () => void exportBackup(),
    keepHosting(checked) {
      settings = { ...settings, keepHostingWhenClosed: checked };
      updateMenus();
      saveSettings(dataDir, settings).catch((err) => log.error(`saving settings: ${(err as Error).message}`));
    },
    quit: () => app.quit(),
    openLogs: () => void shell.openPath(deskLog.dir).then((problem) => problem && log.warn(`opening the logs folder: ${problem}`)),
    copyDiagnostics: () =>
      clipboard.writeText(
        diagnostics({
          version: app.getVersion(),
          versions: { electron: process.versions.electron, chrome: process.versions.chrome, node: process.versions.node },
          platform: `${process.platform} ${process.arch}`,
          state: desktop.state(),
          dataDir,
          logFile: deskLog.file,
          recent: deskLog.recent(),
          secrets: desktop.secrets(),
        }),
      ),
  };
  // The tray and the application menu hold the same items; rebuilt only when one of them changes.
  let shown = '';
  function updateMenus() {
    const state = { hasCalendar: desktop.state().calendar !== null, keepHostingWhenClosed: settings.keepHostingWhenClosed };
    const key = JSON.stringify([tray !== null, state]);
    if (key === shown || quit.quitting() || !app.isReady()) return;
    shown = key;
    const items = deskMenu(state, actions) as MenuItemConstructorOptions[];
    tray?.setContextMenu(Menu.buildFromTemplate(items));
    Menu.setApplicationMenu(
      Menu.buildFromTemplate([
        ...(process.platform === 'darwin' ? [{ role: 'appMenu' } as const] : []),
        { label: 'Calendar', submenu: items.slice(1) },
        { role: 'editMenu' },
        { role: 'windowMenu' },
        { role: 'help', submenu: helpMenu(actions) as MenuItemConstructorOptions[] },
      ]),
    );
  }

  try {
    await desktop.start();
  } catch (err) {
    dialog.showErrorBox('LAN Scheduler could not start', (err as Error).message);
    app.exit(1);
    return;
  }

  // macOS: a template image (black and alpha; trayTemplate@2x.png beside it for Retina), which
  // the menu bar tints for light and dark. Elsewhere the coloured icon (tray@2x.png for high density).
  const icon = nativeImage.createFromPath(join(ASSETS, process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'));
  if (process.platform === 'darwin') icon.setTemplateImage(true);
  tray = new Tray(icon);
  tray.setToolTip('LAN Scheduler');
  tray.on('click', () => openWindow());
  updateMenus();
  openWindow();
}
