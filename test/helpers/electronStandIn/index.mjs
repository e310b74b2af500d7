// A stand-in for Electron's main-process API, for tests only (see run.mjs and
// test/helpers/standInDesk.ts). `app` keeps Electron's order of events (ready after the entry has
// evaluated; second-instance only after ready; before-quit, will-quit, quit; exit without them),
// the single-instance lock is real between processes, windows are chromium pages, and Tray, Menu,
// Notification, powerMonitor, nativeImage, shell, clipboard, dialog and session are recorders
// that the test drives through the control line.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createWindows } from './browserWindow.mjs';
import { openControl } from './control.mjs';

let control;
const report = (type, data) => control.report(type, data);
// Electron's process lives until the app quits or exits, whatever else runs.
const alive = setInterval(() => undefined, 1 << 30);

const preventable = () => ({ prevented: false, preventDefault() { this.prevented = true; } });

class App extends EventEmitter {
  constructor() {
    super();
    this.ready = false;
    this.quitting = false;
    this.isPackaged = false;
    this.name = 'Electron';
    const appData = process.env.STANDIN_APPDATA;
    if (!appData) throw new Error('the stand-in needs STANDIN_APPDATA');
    this.paths = { appData, home: appData, documents: join(appData, 'Documents'), temp: join(appData, 'tmp'), userData: join(appData, 'Electron') };
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    this.mail = [];
  }
  setName(name) { this.name = name; }
  getName() { return this.name; }
  getVersion() { return JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).version; }
  setAppUserModelId(id) { report('app-user-model-id', { id }); }
  setPath(name, path) {
    if (this.ready && name === 'userData') throw new Error('stand-in: setPath(userData) after ready');
    this.paths[name] = path;
  }
  getPath(name) {
    if (name === 'logs') return join(this.paths.userData, 'logs');
    if (!this.paths[name]) throw new Error(`Failed to get '${name}' path`);
    return this.paths[name];
  }
  isReady() { return this.ready; }
  whenReady() { return this.readyPromise; }
  focus() {}

  /**
   * Chromium's lock, between processes: a lock file with the holder's pid. A second process that
   * finds a live holder leaves its command line in the holder's mailbox (synchronously, as Electron
   * notifies before answering false) and gets false.
   */
  requestSingleInstanceLock() {
    const dir = this.paths.userData;
    mkdirSync(join(dir, 'SingletonMail'), { recursive: true });
    const lock = join(dir, 'SingletonLock');
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx'));
        writeFileSync(lock, String(process.pid));
        break;
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
        const holder = Number(readFileSync(lock, 'utf8'));
        let live = false;
        try {
          live = holder > 0 && process.kill(holder, 0);
        } catch {}
        if (live) {
          writeFileSync(join(dir, 'SingletonMail', `${process.pid}.json`), JSON.stringify({ argv: process.argv, cwd: process.cwd() }));
          report('lock', { got: false, holder });
          return false;
        }
        rmSync(lock, { force: true });
      }
    }
    process.on('exit', () => rmSync(lock, { force: true }));
    const mailbox = join(dir, 'SingletonMail');
    const read = () => {
      for (const name of readdirSync(mailbox)) {
        const file = join(mailbox, name);
        try {
          const { argv, cwd } = JSON.parse(readFileSync(file, 'utf8'));
          rmSync(file);
          this.mail.push({ argv, cwd });
          report('second-instance-queued', {});
        } catch {} // half written: read on the next change
      }
      this.deliverMail();
    };
    this.watcher = watch(mailbox, read);
    this.watcher.unref();
    read();
    report('lock', { got: true });
    return true;
  }
  /** second-instance, only ever after ready (Electron guarantees it), each from its own task. */
  deliverMail() {
    if (!this.ready) return;
    for (const { argv, cwd } of this.mail.splice(0)) setImmediate(() => this.emit('second-instance', preventable(), argv, cwd, {}));
  }
  emitReady() {
    if (this.ready) return;
    this.ready = true;
    report('ready');
    this.emit('ready', preventable(), {});
    this.resolveReady();
    this.deliverMail();
  }
  quit() {
    if (this.quitting) return;
    const before = preventable();
    this.emit('before-quit', before);
    report('before-quit', { prevented: before.prevented });
    if (before.prevented) return;
    this.quitting = true;
    for (const win of [...windows.windows]) {
      if (!win.close()) {
        this.quitting = false;
        return;
      }
    }
    const will = preventable();
    this.emit('will-quit', will);
    if (will.prevented) {
      this.quitting = false;
      return;
    }
    this.emit('quit', preventable(), 0);
    this.end(0);
  }
  exit(code = 0) {
    this.quitting = true;
    this.end(code);
  }
  end(code) {
    report('exit', { code });
    clearInterval(alive);
    this.watcher?.close();
    // Playwright kills its chromium when this process exits.
    process.exit(code);
  }
}

export const app = new App();

class IpcMain extends EventEmitter {
  handlers = new Map();
  handle(channel, handler) {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel) { this.handlers.delete(channel); }
  async invoke(channel, event, args) {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}
export const ipcMain = new IpcMain();

const windows = createWindows({ report: (t, d) => report(t, d), ipcMain, app });
export const BrowserWindow = windows.BrowserWindow;

export const nativeImage = {
  createFromPath(path) {
    let template = /Template(@\dx)?\.png$/.test(path);
    return {
      path,
      isEmpty: () => !existsSync(path),
      setTemplateImage(value) { template = Boolean(value); },
      isTemplateImage: () => template,
    };
  },
};

let trayCount = 0;
export class Tray extends EventEmitter {
  constructor(image) {
    super();
    this.id = ++trayCount;
    this.image = image;
    this.menu = null;
    this.destroyed = false;
    state.trays.push(this);
    report('tray', { tray: this.id, image: image.path, template: image.isTemplateImage(), empty: image.isEmpty() });
  }
  setToolTip(text) { this.tip = text; }
  setContextMenu(menu) { this.menu = menu; }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    report('tray-destroyed', { tray: this.id });
  }
  isDestroyed() { return this.destroyed; }
}

export const Menu = {
  buildFromTemplate: (template) => ({ items: template }),
  setApplicationMenu(menu) { state.appMenu = menu; },
};

let notificationCount = 0;
export class Notification extends EventEmitter {
  static isSupported() { return true; }
  constructor(options = {}) {
    super();
    this.id = ++notificationCount;
    this.options = options;
    state.notifications.push(this);
  }
  show() { report('notification', { notification: this.id, title: this.options.title, body: this.options.body }); }
  close() { this.emit('close', preventable()); }
}

export const powerMonitor = new EventEmitter();
export const shell = {
  async openExternal(url) { report('open-external', { url }); },
  async openPath(path) { report('open-path', { path }); return ''; },
};
export const clipboard = {
  writeText(text) { state.clipboard = text; report('clipboard', { length: text.length }); },
  readText: () => state.clipboard,
};
export const dialog = {
  showErrorBox(title, content) { report('error-box', { title, content }); },
  /** Answers with the path the test set (command save-as), or as if cancelled. */
  async showSaveDialog(...args) {
    const options = args.at(-1);
    report('save-dialog', { title: options.title, defaultPath: options.defaultPath });
    const filePath = state.saveAs;
    state.saveAs = null;
    return filePath ? { canceled: false, filePath } : { canceled: true, filePath: '' };
  },
  async showMessageBox(options) {
    report('message-box', { message: options.message, detail: options.detail });
    return { response: options.cancelId ?? 0, checkboxChecked: false };
  },
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler(handler) { state.permissionRequest = handler; },
    setPermissionCheckHandler(handler) { state.permissionCheck = handler; },
  },
};

const state = { trays: [], appMenu: null, notifications: [], clipboard: '', permissionRequest: null, permissionCheck: null, saveAs: null };

/** A menu item by its labels, e.g. ['Help', 'Copy diagnostics'] in the application menu. */
function findItem(menu, path) {
  let items = menu?.items ?? [];
  let item = null;
  for (const label of path) {
    item = items.find((i) => i.label === label || i.role === label.toLowerCase());
    if (!item) throw new Error(`no menu item ${path.join(' → ')} (have: ${items.map((i) => i.label ?? i.role).join(', ')})`);
    items = item.submenu?.items ?? item.submenu ?? [];
  }
  return item;
}

const labels = (items) => (items ?? []).map((i) => (i.type === 'separator' ? '—' : { label: i.label ?? i.role, enabled: i.enabled !== false, checked: i.checked, submenu: i.submenu ? labels(i.submenu.items ?? i.submenu) : undefined }));

control = openControl({
  ready: () => app.emitReady(),
  emit({ target, event }) {
    const e = preventable();
    const emitter = { app, powerMonitor, tray: state.trays.at(-1) }[target];
    if (!emitter) throw new Error(`no ${target} to emit ${event} on`);
    report('emitted', { target, event });
    emitter.emit(event, e);
    return { prevented: e.prevented };
  },
  menu({ where, path }) {
    const menu = where === 'tray' ? state.trays.at(-1)?.menu : state.appMenu;
    const item = findItem(menu, path);
    if (item.enabled === false) throw new Error(`${path.join(' → ')} is disabled`);
    const checked = item.type === 'checkbox' ? !item.checked : item.checked;
    item.click?.({ ...item, checked }, windows.windows.at(-1), {});
    return null;
  },
  menus: () => ({ tray: labels(state.trays.at(-1)?.menu?.items), app: labels(state.appMenu?.items) }),
  clickNotification({ notification }) {
    const n = state.notifications.find((x) => x.id === notification);
    if (!n) throw new Error(`no notification ${notification}`);
    n.emit('click', preventable());
  },
  clipboard: () => state.clipboard,
  /** The path the next save dialog answers with. */
  saveAs({ path }) {
    state.saveAs = path;
    return null;
  },
  windows: () => windows.windows.map((w) => ({ id: w.id, url: w.webContents.getURL(), visible: w.visible, destroyed: w.destroyed })),
  permissions: () => {
    let asked = null;
    state.permissionRequest?.(null, 'notifications', (granted) => (asked = granted), {});
    return { request: asked, check: state.permissionCheck?.(null, 'notifications', '', {}) ?? null };
  },
  /** A call on a window's playwright page: evaluate (a function's source), click, fill, textContent, screenshot… */
  async page({ window, method, args = [] }) {
    const page = await windows.page(window);
    if (method === 'evaluate') return page.evaluate(`(${args[0]})(${JSON.stringify(args[1] ?? null)})`);
    if (method === 'url') return page.url();
    if (method === 'screenshot') {
      await page.screenshot(args[0]);
      return null;
    }
    const result = await page[method](...args);
    return result === undefined || typeof result !== 'object' || result === null ? result ?? null : null;
  },
});

/** For run.mjs: the entry has evaluated; `ready` follows, unless the test holds it. */
export const standIn = {
  mainEvaluated() {
    report('main-evaluated');
    if (process.env.STANDIN_HOLD_READY !== '1') setImmediate(() => app.emitReady());
  },
};

export default { app, BrowserWindow, ipcMain, Menu, Tray, Notification, nativeImage, powerMonitor, shell, clipboard, dialog, session };
