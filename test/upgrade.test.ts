import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHmac, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import type { DeskInfo } from '../main/peer/channel.js';
import { defaultTiming } from '../main/peer/context.js';
import { connectDesk } from '../main/peer/deskLink.js';
import { parseStamp } from '../main/store/hlc.js';
import { loadOrCreateDeskCertificate } from '../main/trust/certificate.js';
import { calendarSecrets, legacyCalendarId } from '../main/trust/keys.js';
import { DESK_PORT, desks, PORT, type Desk } from './helpers/desks.js';
import { request, requireBuiltCli, within, type Run } from './helpers/hostProcess.js';
import { createLan, netnsUnavailable, waitForOutput, type Lan } from './helpers/netns.js';

// Offices upgrade one desk at a time: a data folder of the previous version carries over, and
// desks of both versions on one LAN leave each other alone. And a desk with a wrong clock.
const unavailable = await netnsUnavailable();
if (unavailable) console.warn(`upgrade tests skipped: ${unavailable}`);

const V1 = join(import.meta.dirname, 'fixtures', 'v1', 'cli.mjs');
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const SETTLE = { timeout: 20_000, interval: 200 };
const anEvent = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });
/** What the previous version made a key of, and the token it derived from it. */
const v1Key = () => randomBytes(16).toString('base64url');
const v1Token = (key: string) => createHmac('sha256', key).update('lan-scheduler/token').digest('base64url');

describe.skipIf(unavailable !== undefined)('upgrading, one desk at a time', () => {
  let lan: Lan;
  let folders: string[];
  const runs: Run[] = [];
  beforeEach(async () => {
    requireBuiltCli();
    lan = await createLan({ peers: 3 });
    folders = [];
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') for (const r of runs) console.log(r.stdout(), r.stderr());
    runs.length = 0;
    await lan.destroy();
    await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
  });
  const folder = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lansched-upgrade-'));
    folders.push(dir);
    return dir;
  };
  /** A desk of the previous version, in namespace `index`. */
  const oldDesk = (index: number, key: string, dir: string) => {
    const run = lan.exec(lan.peers[index]!.ns, process.execPath, [V1, '--advertise', '--calendar', 'Office', '--join-key', key, '--data-dir', dir, '--port', String(PORT)]);
    runs.push(run);
    return run;
  };
  const stop = async (run: Run) => {
    run.child.kill('SIGTERM');
    return within(run.closed, 20_000, 'the desk to stop');
  };

  it('carries a data folder of the previous version over: the same calendar, key and events, and nothing lost', async () => {
    const key = v1Key();
    const dir = await folder();
    const old = oldDesk(0, key, dir);
    await waitForOutput(old, /hosting "Office"/, 20_000, 'the old desk to host');
    const base = `http://${lan.peers[0]!.address}:${PORT}`;
    for (const text of ['before the upgrade', 'also before']) expect((await request(base, 'POST', '/events', v1Token(key), anEvent(text))).status).toBe(200);
    expect((await stop(old)).code).toBe(0);

    const office = desks(lan, { id: legacyCalendarId(key), name: 'Office', joinKey: key, keyGen: 0 });
    try {
      const now = await office.start(0, { dir, args: [] });
      await expect.poll(() => now.role(), SETTLE).toBe('host');
      expect(now.run.stdout()).toContain('carried over');
      expect((await now.events()).map((e) => e.text).sort()).toEqual(['also before', 'before the upgrade']);
      expect(JSON.parse(await readFile(join(dir, 'desk.json'), 'utf8'))).toEqual({ version: 2, calendar: { id: legacyCalendarId(key), name: 'Office', joinKey: key, keyGen: 0 } });
      // Browsers need the new (https) invite: the old token is not the new one.
      expect((await request(now.base, 'GET', '/events', v1Token(key))).status).toBe(403);
      // And a desk that joins it with that key, by invite, gets everything.
      const second = await office.start(1);
      await expect.poll(() => second.role(), SETTLE).toBe('peer');
      await expect.poll(async () => (await second.events()).length, SETTLE).toBe(2);
    } finally {
      await office.cleanup();
    }
  });

  it('keeps desks of both versions on one LAN apart, unharmed, and says plainly which desk needs an update', async () => {
    const key = v1Key();
    const office = desks(lan, { id: legacyCalendarId(key), name: 'Office', joinKey: key, keyGen: 0 });
    try {
      const now = await office.start(0);
      await expect.poll(() => now.role(), SETTLE).toBe('host');
      await now.write('POST', '/events', anEvent('written on the new desk'));
      const old = oldDesk(1, key, await folder());
      await waitForOutput(old, /hosting "Office"/, 20_000, 'the old desk to host its own copy');
      const oldBase = `http://${lan.peers[1]!.address}:${PORT}`;
      expect((await request(oldBase, 'POST', '/events', v1Token(key), anEvent('written on the old desk'))).status).toBe(200);
      await expect.poll(() => now.run.stderr(), SETTLE).toMatch(new RegExp(`at ${lan.peers[1]!.address.replace(/\./g, '\\.')} runs an older LAN Scheduler`));
      // Neither took the other's data, and neither stopped working.
      expect((await now.events()).map((e) => e.text)).toEqual(['written on the new desk']);
      expect(((await request(oldBase, 'GET', '/events', v1Token(key))).json as { text: string }[]).map((e) => e.text)).toEqual(['written on the old desk']);
      expect(now.roles()).toHaveLength(1);
      expect(old.stdout()).not.toMatch(/joined|stepping down/);
    } finally {
      await office.cleanup();
    }
  });

  it.skipIf(!existsSync(FAKETIME))('desks whose clocks are 5 min off say so, stamp their writes with the host\'s time and take the host\'s changes', async () => {
    const office = desks(lan);
    try {
      const host = await office.start(0);
      await expect.poll(() => host.role(), SETTLE).toBe('host');
      const fast: Desk = await office.start(1, { env: { LD_PRELOAD: FAKETIME, FAKETIME: '+5m' } });
      await expect.poll(() => fast.role(), SETTLE).toBe('peer');
      await expect.poll(() => fast.run.stderr(), SETTLE).toMatch(/this desk's clock is 5 min fast/);
      const { json } = await fast.write('POST', '/events', anEvent('from the fast desk'));
      await expect.poll(async () => (await host.events()).map((e) => e.id), SETTLE).toEqual([json.tid]);
      // The version it carries is the host's time, not five minutes ahead (which would win every conflict).
      const cert = await loadOrCreateDeskCertificate(await folder(), silentLogger);
      const info = (): DeskInfo => ({ deskId: cert.deskId, name: 'test', role: 'starting', host: null, addresses: [], deskPort: 1, webPort: 1, revision: 0, inSyncAt: 0 });
      const me = { cert, calendar: () => ({ id: office.calendar.id, deskSecret: calendarSecrets(office.calendar.joinKey).deskSecret, keyGen: 0 }), info };
      const channel = await connectDesk({ address: host.address, port: DESK_PORT }, me, defaultTiming(Date.now), silentLogger);
      await channel.call('follow', {});
      const state = (await channel.call('pullState', { from: 0 })) as { changes: { record: { id: string }; hlc: string }[] };
      channel.close('done');
      const stamp = parseStamp(state.changes.find((c) => c.record.id === json.tid)!.hlc)!;
      expect(Math.abs(stamp.wall - Date.now())).toBeLessThan(60_000);
      // A desk 5 min slow joins a calendar that has events: it takes them (they are not "ahead" of the host's time).
      const slow: Desk = await office.start(2, { env: { LD_PRELOAD: FAKETIME, FAKETIME: '-5m' } });
      await expect.poll(() => slow.role(), SETTLE).toBe('peer');
      await expect.poll(async () => (await slow.events()).map((e) => e.id), SETTLE).toEqual([json.tid]);
      expect(slow.run.stderr()).toMatch(/this desk's clock is 5 min slow/);
      expect(slow.run.stderr()).not.toMatch(/refused/);
    } finally {
      await office.cleanup();
    }
  });
});
