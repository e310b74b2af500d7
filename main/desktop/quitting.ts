import type { Logger } from '../log.js';

/** The most a hand-over may take (the peer runtime's `timing.handoverMs` for desktop desks). */
export const HANDOVER_MS = 2500;
/** How long quitting may take (hand-over, mDNS goodbye, flush) before the app exits anyway. */
export const QUIT_LIMIT_MS = 8000;
/**
 * How long quitting may take when the system is ending: logind lets apps delay a shutdown by 5 s
 * at most (InhibitDelayMaxSec), and the issue asks for 4 s; this leaves room for a slow machine.
 */
export const SHUTDOWN_LIMIT_MS = 3500;

export interface QuitOptions {
  platform: NodeJS.Platform;
  log: Logger;
  /** Hands over, says goodbye and flushes (desktop.close()). */
  close(): Promise<void>;
  /** Out of sight at once: the window hides while the desk hands over. */
  hide(): void;
  /** Last things before the process ends (the tray icon, so Windows leaves no ghost of it). */
  beforeExit(): void;
  /** Ends the process now, without another before-quit (app.exit). */
  exit(code: number): void;
  /** Starts Electron's quit (app.quit), which comes back here as before-quit. */
  quit(): void;
  limits?: { quitMs?: number; shutdownMs?: number };
}

interface Preventable {
  preventDefault(): void;
}

/**
 * The quit sequence. A person's quit holds the first before-quit, hands over within QUIT_LIMIT_MS
 * and exits. When the system ends (powerMonitor `shutdown` on Linux and macOS, SIGTERM) the app
 * must not stand in its way:
 * - Linux: the shutdown is delayed (Electron holds a logind delay lock while the event is
 *   prevented) for a hand-over of SHUTDOWN_LIMIT_MS at most, then the app exits;
 * - macOS: the app lets the system quit it at once. Electron ignores the system's quit while the
 *   shutdown event is prevented, and whether loginwindow then waits for the app is not documented,
 *   so nothing is prevented: no "LAN Scheduler interrupted restart". The other desks take over as
 *   after a crash (the store has every acknowledged write on disk already).
 * - Windows has no `shutdown` event: the system ends the process and the others take over.
 */
export function createQuitSequence(options: QuitOptions) {
  const { log } = options;
  const quitMs = options.limits?.quitMs ?? QUIT_LIMIT_MS;
  const shutdownMs = options.limits?.shutdownMs ?? SHUTDOWN_LIMIT_MS;
  let phase: 'running' | 'closing' | 'letting-go' | 'done' = 'running';
  let systemEnding = false;
  let deadline = Infinity;
  let timer: NodeJS.Timeout | undefined;

  const finish = (code: number, why: string) => {
    if (phase === 'done') return;
    phase = 'done';
    clearTimeout(timer);
    if (why) log.warn(why);
    try {
      options.beforeExit();
    } finally {
      options.exit(code);
    }
  };

  /** Exits at `ms` from now at the latest (a shutdown shortens a quit already under way). */
  const limitTo = (ms: number) => {
    const at = Date.now() + ms;
    if (at >= deadline) return;
    deadline = at;
    clearTimeout(timer);
    timer = setTimeout(() => finish(0, `quitting after ${ms / 1000} s without a clean hand-over; the other desks take over`), ms);
  };

  const start = () => {
    phase = 'closing';
    options.hide();
    limitTo(systemEnding ? shutdownMs : quitMs);
    options.close().then(
      () => finish(0, ''),
      (err) => finish(1, `quitting: ${(err as Error).message}`),
    );
  };

  /** The system is ending this session: quit now, within the short limit (or, on macOS, at once). */
  const ending = (what: string, event: Preventable | null) => {
    systemEnding = true;
    if (options.platform === 'darwin') {
      log.info(`${what}: quitting at once; the other desks take over`);
      if (phase === 'running' || phase === 'closing') phase = 'letting-go';
      // The system's own quit follows a shutdown event; a signal has none behind it.
      if (!event) options.quit();
      return;
    }
    event?.preventDefault();
    log.info(`${what}: handing over for ${shutdownMs / 1000} s at most`);
    if (phase === 'closing') limitTo(shutdownMs);
    else if (phase === 'running') options.quit();
  };

  return {
    /** app `before-quit`. */
    beforeQuit(event: Preventable) {
      if (phase === 'letting-go' || phase === 'done') {
        options.beforeExit();
        return;
      }
      event.preventDefault();
      if (phase === 'running') start();
    },
    /** powerMonitor `shutdown` (Linux and macOS; it covers restart and, on macOS, log-out). */
    shutdown(event?: Preventable) {
      ending('the system is shutting down', event ?? { preventDefault() {} });
    },
    /** SIGTERM is how a Linux session or service manager ends the app; SIGINT is a person at a terminal. */
    signal(name: 'SIGINT' | 'SIGTERM') {
      if (name === 'SIGTERM') ending('SIGTERM', null);
      else if (phase === 'running') options.quit();
    },
    /** app `will-quit`: only reached when the app lets the system quit it. */
    willQuit() {
      options.beforeExit();
    },
    quitting: () => phase !== 'running',
  };
}

export type QuitSequence = ReturnType<typeof createQuitSequence>;
