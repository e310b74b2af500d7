// A stand-in for Electron's main-process API, for tests only (see run.mjs and
// test/helpers/standInDesk.ts). `app` keeps Electron's order of events (ready after the entry has
// evaluated; second-instance only after ready; before-quit, will-quit, quit; exit without them),
// the single-instance lock is real between processes, windows are chromium pages, and Tray, Menu,
// Notification, powerMonitor, nativeImage, shell, clipboard, dialog and session are recorders
// that the test drives through the control line.
import { EventEmitter } from 'node:events';
import { App, preventable } from './app.mjs';
import { createWindows } from './browserWindow.mjs';
import { openControl } from './control.mjs';
import { createRecorders, findItem, labels } from './recorders.mjs';

let control;
const report = (type, data) => control.report(type, data);

export const app = new App({ report, openWindows: () => windows.windows });

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

const recorders = createRecorders({ report });
const { state } = recorders;
export const { nativeImage, Tray, Menu, Notification, powerMonitor, shell, clipboard, dialog, session } = recorders;

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
