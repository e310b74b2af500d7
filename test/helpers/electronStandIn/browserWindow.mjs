// BrowserWindow and webContents, backed by Debian's chromium through playwright-core: each window
// is a page that loads the same URL, runs the real built preload (one CommonJS file) with a
// contextBridge and an ipcRenderer wired to the stand-in ipcMain, and reports what it does.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium.mjs';
import { preventable } from './app.mjs';

/** Runs the preload as Electron would hand it `require('electron')`, in the page before its scripts. */
function preloadScript(source) {
  return `(() => {
  const listeners = new Map();
  const ipcRenderer = {
    invoke: (channel, ...args) => window.__standInInvoke(channel, args),
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel).add(listener);
      return ipcRenderer;
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener);
      return ipcRenderer;
    },
  };
  Object.defineProperty(window, '__standInDeliver', {
    value: (channel, args) => {
      const event = { sender: ipcRenderer };
      for (const l of [...(listeners.get(channel) ?? [])]) l(event, ...args);
      return (listeners.get(channel) ?? new Set()).size;
    },
  });
  const contextBridge = {
    exposeInMainWorld(key, api) {
      Object.defineProperty(window, key, { value: Object.freeze({ ...api }), enumerable: true });
    },
  };
  const require = (name) => {
    if (name === 'electron') return { contextBridge, ipcRenderer };
    throw new Error('a sandboxed preload cannot require ' + name);
  };
  const module = { exports: {} };
  (function (require, module, exports) {
${source}
  })(require, module, module.exports);
})();`;
}

export function createWindows({ report, ipcMain, app }) {
  const windows = [];
  let context = null;
  let ids = 0;
  /** Callers of page() waiting for a window to open: each looks again when one does. */
  const waiting = new Set();

  const launch = async () => {
    if (!context) {
      const browser = chromium.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_ARGS],
        // The app handles these signals itself, as Electron's main process does.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      // One session for every window, like Electron's defaultSession.
      context = browser.then((b) => b.newContext({ viewport: { width: 1320, height: 860 } }));
    }
    return context;
  };

  class WebContents extends EventEmitter {
    constructor(win) {
      super();
      this.win = win;
      this.openHandler = null;
      this.url = '';
    }
    getURL() {
      return this.url;
    }
    isDestroyed() {
      return this.win.destroyed;
    }
    setWindowOpenHandler(handler) {
      this.openHandler = handler;
    }
    send(channel, ...args) {
      report('send', { window: this.win.id, channel });
      void this.win.page.then((page) => page.evaluate(([c, a]) => window.__standInDeliver?.(c, a), [channel, args])).catch(() => undefined);
    }
  }

  class BrowserWindow extends EventEmitter {
    constructor(options = {}) {
      super();
      this.id = ++ids;
      this.options = options;
      this.visible = options.show !== false;
      this.destroyed = false;
      this.shownOnce = false;
      this.webContents = new WebContents(this);
      windows.push(this);
      const { preload, ...prefs } = options.webPreferences ?? {};
      report('window', { window: this.id, show: this.visible, preload: Boolean(preload), webPreferences: prefs });
      app.emit('web-contents-created', { preventDefault() {} }, this.webContents);
      this.page = this.open(preload);
      this.page.catch((err) => report('window-error', { window: this.id, message: err.message }));
      for (const look of [...waiting]) look();
    }

    async open(preload) {
      const page = await (await launch()).newPage();
      page.on('pageerror', (err) => report('pageerror', { window: this.id, message: err.message }));
      page.on('popup', (popup) => {
        const answer = this.webContents.openHandler?.({ url: popup.url() }) ?? { action: 'allow' };
        report('window-open', { window: this.id, url: popup.url(), action: answer.action });
        if (answer.action === 'deny') void popup.close();
      });
      // The real preload and the real ipcMain handlers: the sender and its frame are what Electron would pass.
      await page.exposeBinding('__standInInvoke', (source, channel, args) => {
        const frame = source.frame;
        const event = { sender: this.webContents, senderFrame: { url: frame.url(), parent: frame.parentFrame() ? {} : null } };
        return ipcMain.invoke(channel, event, args);
      });
      if (preload) await page.addInitScript({ content: preloadScript(readFileSync(preload, 'utf8')) });
      // Navigations the page starts itself go through will-navigate, as in Electron.
      await page.route('**/*', (route) => {
        const request = route.request();
        if (!request.isNavigationRequest() || request.frame() !== page.mainFrame() || this.loading === request.url()) return route.continue();
        const event = Object.assign(preventable(), { url: request.url() });
        this.webContents.emit('will-navigate', event);
        report('will-navigate', { window: this.id, url: request.url(), prevented: event.prevented });
        return event.prevented ? route.abort() : route.continue();
      });
      return page;
    }

    async loadURL(url) {
      const page = await this.page;
      this.loading = url;
      this.webContents.url = url;
      report('load', { window: this.id, url });
      try {
        await page.goto(url, { waitUntil: 'load' });
      } finally {
        this.loading = null;
      }
      this.webContents.url = page.url();
      this.webContents.emit('did-finish-load');
      if (!this.shownOnce) {
        this.shownOnce = true;
        this.emit('ready-to-show');
      }
    }

    show() {
      this.visible = true;
      report('show', { window: this.id });
    }
    hide() {
      this.visible = false;
      report('hide', { window: this.id });
    }
    focus() {
      report('focus', { window: this.id });
    }
    isVisible() {
      return this.visible;
    }
    isMinimized() {
      return false;
    }
    restore() {}
    isDestroyed() {
      return this.destroyed;
    }
    close() {
      const event = preventable();
      this.emit('close', event);
      if (!event.prevented) this.destroy();
      return !event.prevented;
    }
    destroy() {
      if (this.destroyed) return;
      this.destroyed = true;
      windows.splice(windows.indexOf(this), 1);
      report('closed', { window: this.id });
      void this.page.then((p) => p.close()).catch(() => undefined);
      this.emit('closed');
      if (windows.length === 0 && !app.quitting) app.emit('window-all-closed');
    }
  }

  return {
    BrowserWindow,
    windows,
    /** The page of a window (the newest if none is named, waiting for one to open), for the test's commands. */
    async page(id) {
      const find = () => (id === undefined ? windows.at(-1) : windows.find((w) => w.id === id));
      const win =
        find() ??
        (await new Promise((resolve) => {
          const done = (found) => {
            clearTimeout(timer);
            waiting.delete(look);
            resolve(found);
          };
          const look = () => find() && done(find());
          const timer = setTimeout(() => done(undefined), 20_000);
          waiting.add(look);
        }));
      if (!win) throw new Error(id === undefined ? 'no window opened' : `there is no window ${id}`);
      return win.page;
    },
  };
}
