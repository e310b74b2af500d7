import type { DesktopState } from '../main/desktop/ipc.js';

export type { DesktopState };

/** Where the page finds its host and token: the desktop bridge, or the address bar and local storage. */
export interface Connection {
  /** The host's base URL without a trailing slash, e.g. "http://127.0.0.1:3210". */
  baseUrl: string;
  token: string | null;
  /** Keeps a token that worked, for the next visit. */
  remember(token: string): void;
  forget(): void;
}

/** What the desktop app's preload gives the page (see preload/): named functions, nothing else. */
export interface DesktopBridge {
  /** This desk's own server and the calendar's token; rejects on first run (no calendar yet). */
  connection(): Promise<{ baseUrl: string; token: string }>;
  state(): Promise<DesktopState>;
  /** Calls `listener` with every new state; returns the function that stops it. */
  onState(listener: (state: DesktopState) => void): () => void;
  /** Creates a calendar this desk hosts; the window then moves to it. */
  createCalendar(name: string): Promise<void>;
  /** Joins a calendar found on the LAN with its key; the window then moves to it. */
  joinCalendar(calendarId: string, joinKey: string): Promise<void>;
  /** Joins with a whole invite (works without multicast) or only a key; the window then moves to it. */
  joinInvite(text: string): Promise<void>;
  /** Puts an invite (the key for desks, a link for browsers) on the clipboard. */
  copyInvite(): Promise<void>;
  /** Leaves the calendar; the window then shows the first-run screen. */
  leave(): Promise<void>;
}

declare global {
  interface Window {
    lanScheduler?: DesktopBridge;
  }
}

const STORAGE_KEY = 'lan-scheduler.token';

/**
 * The one place that decides the host URL and token. In the desktop window the preload
 * supplies both; in a browser the host is the page's own origin, and the token comes from
 * an invite link (`#token=…`, then removed from the address bar) or from the last visit.
 */
export async function getConnection(win: Window = window): Promise<Connection> {
  if (win.lanScheduler) {
    const { baseUrl, token } = await win.lanScheduler.connection();
    return { baseUrl, token, remember() {}, forget() {} };
  }
  const storage = win.localStorage;
  const hash = new URLSearchParams(win.location.hash.slice(1));
  const invited = hash.get('token');
  if (invited !== null) {
    hash.delete('token');
    const rest = hash.toString();
    win.history.replaceState(null, '', win.location.pathname + win.location.search + (rest ? `#${rest}` : ''));
  }
  return {
    baseUrl: win.location.origin,
    token: invited || storage.getItem(STORAGE_KEY),
    remember: (token) => storage.setItem(STORAGE_KEY, token),
    forget: () => storage.removeItem(STORAGE_KEY),
  };
}
