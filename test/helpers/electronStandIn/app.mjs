// `app` of the stand-in Electron (see index.mjs): Electron's order of events (ready after the entry
// has evaluated; second-instance only after ready; before-quit, will-quit, quit; exit without
// them) and Chromium's single-instance lock, real between processes.
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const preventable = () => ({ prevented: false, preventDefault() { this.prevented = true; } });

export class App extends EventEmitter {
  #report;
  #openWindows;
  #alive;
  /** `report` tells the test what happened; `openWindows` lists the windows a quit closes first. */
  constructor({ report, openWindows }) {
    super();
    this.#report = report;
    this.#openWindows = openWindows;
    // Electron's process lives until the app quits or exits, whatever else runs.
    this.#alive = setInterval(() => undefined, 1 << 30);
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
  setAppUserModelId(id) { this.#report('app-user-model-id', { id }); }
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
          this.#report('lock', { got: false, holder });
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
          this.#report('second-instance-queued', {});
        } catch {} // half written: read on the next change
      }
      this.deliverMail();
    };
    this.watcher = watch(mailbox, read);
    this.watcher.unref();
    read();
    this.#report('lock', { got: true });
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
    this.#report('ready');
    this.emit('ready', preventable(), {});
    this.resolveReady();
    this.deliverMail();
  }
  quit() {
    if (this.quitting) return;
    const before = preventable();
    this.emit('before-quit', before);
    this.#report('before-quit', { prevented: before.prevented });
    if (before.prevented) return;
    this.quitting = true;
    for (const win of [...this.#openWindows()]) {
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
    this.#report('exit', { code });
    clearInterval(this.#alive);
    this.watcher?.close();
    // Playwright kills its chromium when this process exits.
    process.exit(code);
  }
}
