import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createDesktop, type Desktop } from '../../main/desktop/desktop.js';
import type { DesktopState } from '../../main/desktop/ipc.js';
import { silentLogger } from '../../main/log.js';
import type { KeyTrial } from '../../main/peer/probe.js';
import { fakeLobby, fakePeer, type FakePeer } from './desktopFakes.js';

// The desktop controller's tests' setup, shared by the files that test it: a data folder of its
// own, the stand-in runtimes and lobbies it started, and calendars "on the LAN"; fresh each test.

type Over = Partial<Parameters<typeof createDesktop>[0]>;

/** Registers the setup with vitest's hooks; the fields are the current test's. */
export function useDesktops() {
  const t = {
    dir: '',
    peers: [] as FakePeer[],
    lobbies: [] as ReturnType<typeof fakeLobby>[],
    /** What the lobbies started from now on find on the LAN. */
    found: [] as { id: string; name: string }[],
    /** The next runtime start fails with this. */
    failNextPeer: null as Error | null,
    online: true,
    /** The keys the calendars "on the LAN" open, by calendar id (what their desks would prove). */
    keys: new Map<string, string>(),
    tries: [] as { key: string; calendars: string[] }[],
    desktops: [] as Desktop[],
    desktop: (over: Over = {}) => startDesktop(over),
    watch,
    deskFile: async () => JSON.parse(await readFile(join(t.dir, 'desk.json'), 'utf8')),
  };

  beforeEach(async () => {
    t.dir = await mkdtemp(join(tmpdir(), 'lansched-desktop-'));
    t.peers = [];
    t.lobbies = [];
    t.found = [];
    t.failNextPeer = null;
    t.online = true;
    t.desktops = [];
    t.keys = new Map();
    t.tries = [];
  });
  afterEach(async () => {
    for (const d of t.desktops) await d.close();
    await rm(t.dir, { recursive: true, force: true });
  });

  function startDesktop(over: Over) {
    const d = createDesktop({
      dataDir: t.dir,
      pageDir: '/nonexistent',
      log: silentLogger,
      person: 'Alice Martin',
      async startPeer(options) {
        if (t.failNextPeer) {
          const err = t.failNextPeer;
          t.failNextPeer = null;
          throw err;
        }
        const p = fakePeer(options);
        t.peers.push(p);
        return p;
      },
      async startLobby() {
        const l = fakeLobby(t.found);
        t.lobbies.push(l);
        return l;
      },
      online: () => t.online,
      lanAddress: () => '192.168.1.20',
      async tryKey(key, hints): Promise<KeyTrial> {
        t.tries.push({ key, calendars: hints.map((h) => h.calendarId) });
        const hit = hints.find((h) => t.keys.get(h.calendarId) === key);
        return hit ? { found: { id: hit.calendarId, name: hit.calendarName, keyGen: 2 } } : { found: null, why: 'no calendar on this network opens with that key' };
      },
      ...over,
    });
    t.desktops.push(d);
    return d;
  }

  return t;
}

/** Records every state and origin the controller emits. */
function watch(d: Desktop) {
  const states: DesktopState[] = [];
  const origins: string[] = [];
  d.onState((s) => states.push(s));
  d.onOrigin((o) => origins.push(o));
  return { states, origins, last: () => states.at(-1)! };
}
