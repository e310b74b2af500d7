// The stand-in Electron's recorders (see index.mjs): Tray, Menu, Notification, powerMonitor,
// nativeImage, shell, clipboard, dialog and session do nothing real; they report what the app did
// and keep it in `state`, for the test to read and drive through the control line.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { preventable } from './app.mjs';

export function createRecorders({ report }) {
  const state = { trays: [], appMenu: null, notifications: [], clipboard: '', permissionRequest: null, permissionCheck: null, saveAs: null };

  const nativeImage = {
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
  class Tray extends EventEmitter {
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

  const Menu = {
    buildFromTemplate: (template) => ({ items: template }),
    setApplicationMenu(menu) { state.appMenu = menu; },
  };

  let notificationCount = 0;
  class Notification extends EventEmitter {
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

  const powerMonitor = new EventEmitter();
  const shell = {
    async openExternal(url) { report('open-external', { url }); },
    async openPath(path) { report('open-path', { path }); return ''; },
  };
  const clipboard = {
    writeText(text) { state.clipboard = text; report('clipboard', { length: text.length }); },
    readText: () => state.clipboard,
  };
  const dialog = {
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
  const session = {
    defaultSession: {
      setPermissionRequestHandler(handler) { state.permissionRequest = handler; },
      setPermissionCheckHandler(handler) { state.permissionCheck = handler; },
    },
  };

  return { state, nativeImage, Tray, Menu, Notification, powerMonitor, shell, clipboard, dialog, session };
}

/** A menu item by its labels, e.g. ['Help', 'Copy diagnostics'] in the application menu. */
export function findItem(menu, path) {
  let items = menu?.items ?? [];
  let item = null;
  for (const label of path) {
    item = items.find((i) => i.label === label || i.role === label.toLowerCase());
    if (!item) throw new Error(`no menu item ${path.join(' → ')} (have: ${items.map((i) => i.label ?? i.role).join(', ')})`);
    items = item.submenu?.items ?? item.submenu ?? [];
  }
  return item;
}

export const labels = (items) => (items ?? []).map((i) => (i.type === 'separator' ? '—' : { label: i.label ?? i.role, enabled: i.enabled !== false, checked: i.checked, submenu: i.submenu ? labels(i.submenu.items ?? i.submenu) : undefined }));
