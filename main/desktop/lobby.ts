import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import type { Logger } from '../log.js';
import type { Hint } from '../peer/discovery.js';
import { calendarHintOf, type CalendarHint } from '../peer/probe.js';
import { pageApp } from '../server/liveServer.js';

/** What the lobby needs of discovery: browsing only, it never announces. */
export interface Browser {
  hints(): Pick<Hint, 'calendarId' | 'calendarName' | 'deskId' | 'address' | 'deskPort'>[];
  onChange(listener: () => void): unknown;
  close(): Promise<void>;
}

export interface LobbyOptions {
  /** The built page, the same one desks serve. */
  pageDir: string;
  log: Logger;
  /** Starts browsing the LAN; the composition root passes mDNS, tests pass a stand-in. */
  browse(): Browser;
}

export interface Lobby {
  /** Where the window loads the page from, e.g. "http://127.0.0.1:51234". */
  readonly origin: string;
  /** Calendars seen on the LAN, one entry per calendar. */
  calendars(): { id: string; name: string }[];
  /** Where the desks of the calendars seen are (all of them, or one calendar's): for trying a key. */
  hints(calendarId?: string): CalendarHint[];
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

/**
 * What the window shows before this desk belongs to a calendar: the page, from a static server
 * on 127.0.0.1 only (there is no calendar to serve yet), and the calendars found on the LAN.
 */
export async function startLobby(options: LobbyOptions): Promise<Lobby> {
  const { pageDir, log } = options;
  if (!existsSync(join(pageDir, 'index.html'))) throw new Error(`the page is not built: no index.html in ${pageDir}`);
  const app = pageApp();
  app.use(express.static(pageDir, { index: 'index.html', maxAge: 0 }));
  app.use((_req, res) => void res.status(404).type('text').send('not found'));

  const http = createServer(app);
  http.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => {
      http.off('error', reject);
      http.on('error', (err) => log.error(`lobby server: ${err.message}`));
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  let browser: Browser;
  try {
    browser = options.browse();
  } catch (err) {
    http.close();
    throw err;
  }
  const listeners = new Set<() => void>();
  browser.onChange(() => listeners.forEach((l) => l()));

  let closing: Promise<void> | null = null;
  return {
    origin,
    calendars() {
      const byId = new Map<string, string>();
      for (const p of browser.hints()) byId.set(p.calendarId, p.calendarName || byId.get(p.calendarId) || 'Unnamed calendar');
      return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
    },
    hints(calendarId) {
      return browser
        .hints()
        .filter((h) => calendarId === undefined || h.calendarId === calendarId)
        .map(calendarHintOf);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        listeners.clear();
        await browser.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
