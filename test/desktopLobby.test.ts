import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLobby, type Browser, type Lobby } from '../main/desktop/lobby.js';
import { silentLogger } from '../main/log.js';
import { PAGE_CSP } from '../main/server/liveServer.js';
import { PAGE_DIR } from './helpers/browser.js';

// The lobby with a stand-in for mDNS browsing: a real static server on 127.0.0.1, nothing on the LAN.

function fakeBrowser(seen: { calendarId: string; calendarName: string }[] = []) {
  const listeners: (() => void)[] = [];
  const hints = seen.map((c, i) => ({ ...c, deskId: String.fromCharCode(97 + i).repeat(32), address: `192.168.1.${30 + i}`, deskPort: 3211 }));
  const browser: Browser & { closes: number; changed(): void } = {
    closes: 0,
    hints: () => hints,
    onChange: (l) => void listeners.push(l),
    changed: () => listeners.forEach((l) => l()),
    async close() {
      browser.closes++;
    },
  };
  return browser;
}

let lobby: Lobby | null = null;
afterEach(async () => {
  await lobby?.close();
  lobby = null;
});

describe('the lobby', () => {
  it('serves the built page on 127.0.0.1 only, with the page\'s CSP, and nothing else', async () => {
    lobby = await startLobby({ pageDir: PAGE_DIR, log: silentLogger, browse: () => fakeBrowser() });
    expect(lobby.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${lobby.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('id="first-run"');
    expect((await fetch(`${lobby.origin}/app.js`)).status).toBe(200);
    expect((await fetch(`${lobby.origin}/api/v1`)).status).toBe(404);
    expect((await fetch(`${lobby.origin}/../package.json`)).status).toBe(404);
  });

  it('lists each calendar seen on the LAN once, by name, and tells when the list changes', async () => {
    const browser = fakeBrowser([
      { calendarId: 'bb'.repeat(12), calendarName: 'Sales' },
      { calendarId: 'aa'.repeat(12), calendarName: 'Design team' },
      { calendarId: 'bb'.repeat(12), calendarName: 'Sales' },
      { calendarId: 'cc'.repeat(12), calendarName: '' },
    ]);
    lobby = await startLobby({ pageDir: PAGE_DIR, log: silentLogger, browse: () => browser });
    expect(lobby.calendars()).toEqual([
      { id: 'aa'.repeat(12), name: 'Design team' },
      { id: 'bb'.repeat(12), name: 'Sales' },
      { id: 'cc'.repeat(12), name: 'Unnamed calendar' },
    ]);
    // Where each calendar's desks are, for trying a key on them.
    expect(lobby.hints('aa'.repeat(12))).toEqual([{ calendarId: 'aa'.repeat(12), calendarName: 'Design team', target: { deskId: 'b'.repeat(32), addresses: ['192.168.1.31'], deskPort: 3211 } }]);
    expect(lobby.hints().map((h) => h.calendarId)).toEqual(['bb'.repeat(12), 'aa'.repeat(12), 'bb'.repeat(12), 'cc'.repeat(12)]);
    let changes = 0;
    const off = lobby.onChange(() => changes++);
    browser.changed();
    off();
    browser.changed();
    expect(changes).toBe(1);
  });

  it('closes its server and its browsing once', async () => {
    const browser = fakeBrowser();
    const l = await startLobby({ pageDir: PAGE_DIR, log: silentLogger, browse: () => browser });
    await Promise.all([l.close(), l.close()]);
    expect(browser.closes).toBe(1);
    await expect(fetch(`${l.origin}/`)).rejects.toThrow();
  });

  it('refuses to start without a built page, before browsing the LAN', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'lansched-nopage-'));
    let browsed = false;
    await expect(startLobby({ pageDir: empty, log: silentLogger, browse: () => ((browsed = true), fakeBrowser()) })).rejects.toThrow(/not built/);
    expect(browsed).toBe(false);
    await rm(empty, { recursive: true, force: true });
  });
});
