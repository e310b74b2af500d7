// The Electron composition root: the only main-process file that imports `electron`. It picks
// the real adapters (mDNS and the peer runtime through createRealDesktop; the clipboard, dialogs,
// notifications), owns the window, the tray and the menus, and hands everything else to plain
// Node under main/desktop/. run() goes through the phases below, each a function of its own.
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
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applicationMenu } from './desktop/appMenu.js';
import { createDeskDialogs, type DeskDialogs } from './desktop/deskDialogs.js';
import { deskIpcHandlers } from './desktop/deskIpc.js';
import type { Desktop } from './desktop/desktop.js';
import { Channel, isOwnFrame, type OpenTarget } from './desktop/ipc.js';
import { fromOurPage, serveIpc } from './desktop/ipcServe.js';
import { guardContents } from './desktop/windowGuards.js';
import { deskWindowOptions } from './desktop/windowOptions.js';
import { createDeskLog, diagnostics } from './desktop/logs.js';
import { deskMenu, helpMenu, type MenuActions } from './desktop/menus.js';
import { createQuitSequence, type QuitSequence } from './desktop/quitting.js';
import { createRealDesktop } from './desktop/realDesktop.js';
import { createReminderNotices } from './desktop/reminderNotices.js';
import { startDeskReminders, type DeskReminders } from './desktop/reminders.js';
import { loadSettings, saveSettings, type Settings } from './desktop/settings.js';
import { consoleLogger } from './log.js';

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

/** What the phases below share: the desk and its helpers, and what is on screen now. */
interface DeskShell {
  dataDir: string;
  desktop: Desktop;
  reminders: DeskReminders;
  quit: QuitSequence;
  dialogs: DeskDialogs;
  settings: Settings;
  win: BrowserWindow | null;
  tray: Tray | null;
  /** An event a notification asked to open, until the page has taken it. */
  pendingOpen: OpenTarget | null;
  /** What the menus were last built from: they are rebuilt only when it changes. */
  menusShown: string;
}

async function run(kept: Settings) {
  const desk = createShell(dataDirOf(), kept);
  wireApp(desk);
  followDesk(desk);

  await app.whenReady();
  // The page needs no camera, notification, clipboard-read or any other permission.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  // Typed without it, but Electron passes an event (see main/desktop/quitting.ts for what each platform does).
  (powerMonitor as unknown as NodeJS.EventEmitter).on('shutdown', (event?: { preventDefault(): void }) => desk.quit.shutdown(event));
  serveDeskIpc(desk);

  try {
    await desk.desktop.start();
  } catch (err) {
    dialog.showErrorBox('LAN Scheduler could not start', (err as Error).message);
    app.exit(1);
    return;
  }
  createTray(desk);
  updateMenus(desk);
  openWindow(desk);
}

/** The desk with the real adapters, its reminders and its quit sequence; nothing on screen yet. */
function createShell(dataDir: string, settings: Settings): DeskShell {
  const desktop = createRealDesktop({ dataDir, pageDir: PAGE_DIR, log });
  secretsNow = () => desktop.secrets();
  const notices = createReminderNotices({
    supported: () => Notification.isSupported(),
    create: (options) => new Notification(options),
    open: (target) => openEvent(desk, target),
    log,
  });
  const desk: DeskShell = {
    dataDir,
    desktop,
    settings,
    win: null,
    tray: null,
    pendingOpen: null,
    menusShown: '',
    reminders: startDeskReminders({ current: () => desktop.calendarStore(), notify: (r) => notices.show(r), log }),
    quit: createQuitSequence({
      platform: process.platform,
      log,
      close: () => desk.reminders.close().then(() => desktop.close()),
      hide: () => desk.win?.hide(),
      beforeExit: () => {
        desk.tray?.destroy();
        desk.tray = null;
      },
      exit: (code) => app.exit(code),
      quit: () => app.quit(),
    }),
    dialogs: createDeskDialogs({ desktop, dialog, clipboard, documentsDir: () => app.getPath('documents') }),
  };
  return desk;
}

/** Quitting, closing the last window, a second start, signals, and the guards on every web contents. */
function wireApp(desk: DeskShell) {
  const { quit } = desk;
  app.on('before-quit', (event) => quit.beforeQuit(event));
  app.on('will-quit', () => quit.willQuit());
  app.on('window-all-closed', () => {
    if (!desk.settings.keepHostingWhenClosed) app.quit();
  });
  // Both may come before the desk has started: the window then waits for the page's address.
  app.on('second-instance', () => openWindow(desk));
  app.on('activate', () => openWindow(desk));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => quit.signal(signal));

  // Every web contents, present and future: no new windows, no navigation off our own origin,
  // no <webview>. Links to the web open in the system browser.
  const openOutside = (url: string) => {
    if (/^https?:\/\//i.test(url)) shell.openExternal(url).catch((err) => log.warn(`opening ${url}: ${(err as Error).message}`));
  };
  app.on('web-contents-created', (_event, contents) => guardContents(contents, () => desk.desktop.origin(), openOutside));
}

const loadPage = (target: BrowserWindow, origin: string) => target.loadURL(`${origin}/`).catch((err) => log.warn(`loading the page: ${(err as Error).message}`));
const showsOurPage = (desk: DeskShell) => desk.win !== null && !desk.win.isDestroyed() && isOwnFrame(desk.win.webContents.getURL(), desk.desktop.origin());

/** The window follows the desk from the start: a window opened early loads the page once there is one. */
function followDesk(desk: DeskShell) {
  desk.desktop.onOrigin((origin) => {
    if (desk.win && !desk.win.isDestroyed()) void loadPage(desk.win, origin);
  });
  desk.desktop.onState((state) => {
    // Only to our own page: the state names the desks of the calendar.
    if (showsOurPage(desk)) desk.win!.webContents.send(Channel.stateChanged, state);
    updateMenus(desk);
  });
}

/** IPC: only from the top frame of our window, showing our own page; arguments checked first. */
function serveDeskIpc(desk: DeskShell) {
  const takeOpen = () => {
    const open = desk.pendingOpen;
    desk.pendingOpen = null;
    return open;
  };
  serveIpc(ipcMain, {
    trusted: (event) => fromOurPage(event, desk.win?.webContents, desk.desktop.origin()),
    log,
    handlers: deskIpcHandlers({ desktop: desk.desktop, reminders: desk.reminders, clipboard, takeOpen }),
  });
}

/** Shows the window, or makes it: hidden until the desk has a page for it (a second start, the tray, a reminder). */
function openWindow(desk: DeskShell) {
  if (desk.quit.quitting() || !app.isReady()) return;
  const { win } = desk;
  if (win) {
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
    return;
  }
  const created = new BrowserWindow(deskWindowOptions({ preload: PRELOAD, icon: join(ASSETS, 'icon.png'), devTools: !app.isPackaged }));
  desk.win = created;
  // Hidden until the page is there: a window opened during start shows once the desk has an address.
  created.once('ready-to-show', () => created.show());
  created.on('closed', () => {
    if (desk.win === created) desk.win = null;
  });
  // Windows ends the process right after this; the store already has every write, and the other desks take over.
  created.on('session-end', () => log.info('Windows is ending the session; the other desks take over'));
  const origin = desk.desktop.origin();
  if (origin) void loadPage(created, origin);
}

/** A reminder's notification was clicked: the window opens, and the page opens the event (now, or when it asks). */
function openEvent(desk: DeskShell, target: OpenTarget) {
  desk.pendingOpen = target;
  openWindow(desk);
  if (showsOurPage(desk)) desk.win!.webContents.send(Channel.openEvent, desk.pendingOpen);
}

/** What the tray's and the application menu's items do. */
function menuActions(desk: DeskShell): MenuActions {
  const { desktop, dataDir } = desk;
  return {
    open: () => openWindow(desk),
    copyInvite() {
      try {
        clipboard.writeText(desktop.invite());
      } catch (err) {
        log.warn(`copying the invite: ${(err as Error).message}`);
      }
    },
    changeKey: () => void desk.dialogs.changeKey(),
    exportBackup: () => void desk.dialogs.exportBackup(),
    keepHosting(checked) {
      desk.settings = { ...desk.settings, keepHostingWhenClosed: checked };
      updateMenus(desk);
      saveSettings(dataDir, desk.settings).catch((err) => log.error(`saving settings: ${(err as Error).message}`));
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
}

/** The tray and the application menu hold the same items; rebuilt only when one of them changes. */
function updateMenus(desk: DeskShell) {
  const state = { hasCalendar: desk.desktop.state().calendar !== null, keepHostingWhenClosed: desk.settings.keepHostingWhenClosed };
  const key = JSON.stringify([desk.tray !== null, state]);
  if (key === desk.menusShown || desk.quit.quitting() || !app.isReady()) return;
  desk.menusShown = key;
  const actions = menuActions(desk);
  const items = deskMenu(state, actions);
  desk.tray?.setContextMenu(Menu.buildFromTemplate(items as MenuItemConstructorOptions[]));
  Menu.setApplicationMenu(Menu.buildFromTemplate(applicationMenu(items, helpMenu(actions), process.platform) as MenuItemConstructorOptions[]));
}

/**
 * macOS: a template image (black and alpha; trayTemplate@2x.png beside it for Retina), which the
 * menu bar tints for light and dark. Elsewhere the coloured icon (tray@2x.png for high density).
 */
function createTray(desk: DeskShell) {
  const icon = nativeImage.createFromPath(join(ASSETS, process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'));
  if (process.platform === 'darwin') icon.setTemplateImage(true);
  const tray = new Tray(icon);
  desk.tray = tray;
  tray.setToolTip('LAN Scheduler');
  tray.on('click', () => openWindow(desk));
}
