import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import type { DeskInfo } from '../main/peer/channel.js';
import { defaultTiming } from '../main/peer/context.js';
import { connectDesk, LinkRefused } from '../main/peer/deskLink.js';
import { formatStamp } from '../main/store/hlc.js';
import { loadOrCreateDeskCertificate } from '../main/trust/certificate.js';
import { calendarSecrets } from '../main/trust/keys.js';
import { capture, captureUnavailable } from './helpers/capture.js';
import { DESK_PORT, desks, PORT, replicas, type Desk } from './helpers/desks.js';
import { request, requireBuiltCli } from './helpers/hostProcess.js';
import { createLan, netnsUnavailable, waitForOutput, type Lan } from './helpers/netns.js';

/** An upper bound, not a measure: a thousand fake desks announced on a 2-core machine: 10-13 s here, three times that under load. */
const LONG_MS = 120_000;

const unavailable = (await netnsUnavailable()) ?? captureUnavailable();
if (unavailable) console.warn(`LAN trust tests skipped: ${unavailable}`);

const anEvent = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });
const SETTLE = { timeout: 20_000, interval: 200 };
const SPOOFER = join(import.meta.dirname, 'helpers', 'spoofer.mjs');

describe.skipIf(unavailable !== undefined)('trust on a simulated LAN', () => {
  let lan: Lan;
  let office: ReturnType<typeof desks>;
  let scratch: string;
  beforeEach(async () => {
    requireBuiltCli();
    lan = await createLan({ peers: 4 });
    office = desks(lan);
    scratch = await mkdtemp(join(tmpdir(), 'lansched-trustlan-'));
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(office.dump());
    await office?.cleanup();
    await lan?.destroy();
    await rm(scratch, { recursive: true, force: true });
  });

  const startInOrder = (count: number) => office.startInOrder(count);

  /** The test process as a desk of the calendar (it holds the key), reaching desks through the bridge. */
  const asDesk = async (joinKey = office.calendar.joinKey, keyGen = 0) => {
    const cert = await loadOrCreateDeskCertificate(await mkdtemp(join(scratch, 'me-')), silentLogger);
    const info = (): DeskInfo => ({ deskId: cert.deskId, name: 'test', role: 'starting', host: null, addresses: [lan.bridgeAddress], deskPort: 1, webPort: 1, revision: 0, inSyncAt: 0 });
    const me = { cert, calendar: () => ({ id: office.calendar.id, deskSecret: calendarSecrets(joinKey).deskSecret, keyGen }), info };
    return (desk: Desk) => connectDesk({ address: desk.address, port: DESK_PORT }, me, defaultTiming(Date.now), silentLogger);
  };

  it('gives a keyless spoofer nothing, follows no one it announces, and nothing readable crosses the wire', async () => {
    const secrets = calendarSecrets(office.calendar.joinKey);
    const cap = await capture(lan.bridge, `not udp port 5353`);
    const mdns = await capture(lan.bridge, `udp port 5353`);
    try {
      const [a, b, c] = (await startInOrder(3)) as [Desk, Desk, Desk];
      // A stranger copies the host's announcement, and claims to host under the lowest id there is.
      const spoofCert = await loadOrCreateDeskCertificate(join(scratch, 'spoofer'), silentLogger);
      const txt = { v: '2', cal: office.calendar.id, name: 'Office', role: 'host', web: '3210' };
      const log = join(scratch, 'spoofer.log');
      const spoofer = lan.exec(lan.peers[3]!.ns, process.execPath, [
        SPOOFER, '--port', String(DESK_PORT), '--cert', join(scratch, 'spoofer', 'desk-cert.pem'), '--key', join(scratch, 'spoofer', 'desk-key.pem'), '--out', log,
        '--announce', JSON.stringify([{ txt: { ...txt, id: a.deskId() } }, { txt: { ...txt, id: 'a'.repeat(32) } }, { txt: { ...txt, id: spoofCert.deskId } }]),
        '--fakes', '1000',
      ]);
      await waitForOutput(spoofer, /spoofer announced/, 10_000, 'the spoofer to announce');
      // Writes with text only the office may read, then a failover and a hand-over, all while it lurks.
      const texts = ['Board meeting: layoffs', 'Salary review with Dana', 'Offsite in Lisbon'];
      for (const [i, text] of texts.entries()) expect((await [a, b, c][i]!.write('POST', '/events', anEvent(text))).status).toBe(200);
      await expect.poll(async () => (await replicas([a!, b!, c!])).every((r) => r.length === 3), SETTLE).toBe(true);
      await office.kill(a!);
      await expect.poll(() => [b!, c!].filter((d) => d.role() === 'host').length, SETTLE).toBe(1);
      const host = [b!, c!].find((d) => d.role() === 'host')!;
      const other = host === b ? c! : b!;
      await expect.poll(() => other.roles().at(-1), SETTLE).toBe(`joined desk ${host.deskId()!.slice(0, 8)} at ${host.address}`);
      expect(await office.quit(host)).toMatchObject({ code: 0 });
      await expect.poll(() => other.role(), SETTLE).toBe('host');
      expect((await other.events()).map((e) => e.text).sort()).toEqual([...texts].sort());

      // No desk ever followed the spoofer, and each said once why it ignores it.
      for (const d of [a!, b!, c!]) expect(d.roles().join('\n')).not.toContain(lan.peers[3]!.address);
      expect(host.run.stdout() + host.run.stderr() + other.run.stderr()).toMatch(new RegExp(`ignoring the desk at ${lan.peers[3]!.address.replace(/\./g, '\\.')}`));
      // A marker sent in clear: proof that the capture sees what crosses to the desks.
      const marker = `marker-${Date.now()}`;
      await request(`http://${other.address}:${PORT}`, 'GET', `/${marker}`);
      // What reached the spoofer, decrypted at its end: never a key, a token, a secret or an event's text.
      const received = await readFile(log, 'utf8').catch(() => '');
      expect(received).toContain('"kind":"tls"'); // desks did knock: they were refused before anything else
      await expect.poll(async () => (await cap.read()).includes(Buffer.from(marker)), SETTLE).toBe(true);
      const pcap = await cap.stop();
      for (const secret of [office.calendar.joinKey, secrets.browserToken, secrets.deskSecret.toString('base64url'), secrets.deskSecret.toString('hex'), ...texts]) {
        expect(received.includes(secret), `the spoofer got ${secret}`).toBe(false);
        expect(pcap.includes(Buffer.from(secret)), `the wire carried ${secret}`).toBe(false);
      }
      expect(pcap.includes(secrets.deskSecret), 'the wire carried the desk secret').toBe(false);
      // mDNS says where desks are and which calendar: never who uses them (their names travel inside the channel).
      const announced = await mdns.stop();
      expect(announced.includes(Buffer.from(office.calendar.id))).toBe(true);
      for (const name of ['desk0', 'desk1', 'desk2']) expect(announced.includes(Buffer.from(name)), name).toBe(false);
      // The capture did see the desks' own traffic (encrypted) pass the switch between them.
      expect(await cap.count(`tcp port ${DESK_PORT} and host ${b.address} and host ${c.address}`)).toBeGreaterThan(20);
    } finally {
      await cap.close();
      await mdns.close();
    }
  }, LONG_MS);

  it('refuses a stamp an hour ahead, and the browser token on every desk route', async () => {
    const [a] = (await startInOrder(1)) as [Desk];
    const connect = await asDesk();
    const channel = await connect(a);
    try {
      await channel.call('follow', {});
      const ahead = formatStamp(Date.now() + 3_600_000, 0, 'clockahead');
      const answer = (await channel.call('push', { changes: [{ entity: 'events', op: 'add', record: { id: 'future', text: 'frozen forever', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' }, hlc: ahead }] })) as { applied: number; refused: string[] };
      expect(answer.applied).toBe(0);
      expect(answer.refused[0]).toMatch(/ahead of this desk's clock/);
      expect(await a.events()).toEqual([]);
      // Records from desks are checked like REST input: markup is refused too.
      const markup = (await channel.call('push', { changes: [{ entity: 'events', op: 'add', record: { id: 'x', text: '<img src=x onerror=alert(1)>', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' }, hlc: formatStamp(Date.now(), 0, 'test') }] })) as { refused: string[] };
      expect(markup.refused).toHaveLength(1);
    } finally {
      channel.close('done');
    }
    for (const path of ['/api/v1/peer/state', '/api/v1/peer/status', '/api/v1/peer/merge', '/api/v1/peer/handover']) {
      expect((await request(a.base, 'POST', path, office.token, { changes: [] })).status, path).toBe(403);
      expect((await request(`https://${a.address}:${DESK_PORT}`, 'GET', path, office.token)).status, path).toBe(403);
    }
    // Plain HTTP from the LAN: no data in clear, page loads sent to https.
    expect((await request(`http://${a.address}:${PORT}`, 'GET', '/events', office.token)).status).toBe(403);
    const page = await request(`http://${a.address}:${PORT}`, 'GET', '/');
    expect([page.status, page.headers.location]).toEqual([308, `https://${a.address}:${PORT}/`]);
  });

  it('changes the key: connected desks take it, every old invite is refused, and a desk that was away says so', async () => {
    const [a, b, c] = await startInOrder(3);
    const oldInvite = a!.invite()!;
    await office.quit(c!); // away during the change
    const change = lan.exec(lan.peers[0]!.ns, process.execPath, [join(import.meta.dirname, '..', 'dist', 'main', 'cli.js'), '--change-key', '--data-dir', a!.dir]);
    const [, newInvite] = (await waitForOutput(change, /invite for desks: (\S+)/, 20_000, 'the new invite'))!;
    const newKey = new URL(newInvite!).searchParams.get('k')!;
    expect(newKey).not.toBe(office.calendar.joinKey);
    const newToken = calendarSecrets(newKey).browserToken;
    // The follower took the key: its desk file keeps it, and the new token opens both desks.
    await expect.poll(async () => JSON.parse(await readFile(join(b!.dir, 'desk.json'), 'utf8')).calendar, SETTLE).toMatchObject({ joinKey: newKey, keyGen: 1, id: office.calendar.id });
    for (const d of [a!, b!]) {
      expect((await request(d.base, 'GET', '/events', office.token)).status).toBe(403);
      expect((await request(d.base, 'GET', '/events', newToken)).status).toBe(200);
    }
    // An old invite: refused, in words; the desk that was away says its key was changed.
    const old = await office.start(2, { dir: c!.dir });
    await expect.poll(() => old.run.stdout() + old.run.stderr(), SETTLE).toMatch(/key was changed while this desk was away/);
    expect(old.roles().some((l) => l.startsWith('joined'))).toBe(false);
    const stranger = await (await asDesk())(a!).then(() => 'connected', (err) => (err instanceof LinkRefused ? err.kind : 'other'));
    expect(stranger).toBe('key-changed');
    expect(oldInvite).toContain(`k=${office.calendar.joinKey}`);
  });

  it('joins by invite where multicast is dropped, and finds the calendar again after a restart', async () => {
    await lan.blockMulticast();
    const a = await office.start(0);
    await expect.poll(() => a.role(), SETTLE).toBe('host');
    await expect.poll(() => a.invite(), SETTLE).toBeDefined();
    const b = await office.start(1, { args: ['--invite', a.invite()!] });
    await expect.poll(() => b.role(), SETTLE).toBe('peer');
    await a.write('POST', '/events', anEvent('seen by unicast'));
    await expect.poll(async () => (await b.events()).map((e) => e.text), SETTLE).toEqual(['seen by unicast']);
    // A restart, still without multicast and without the invite: the desks it saw are in its book.
    await office.quit(b);
    const again = await office.start(1, { dir: b.dir, args: [] });
    await expect.poll(() => again.role(), SETTLE).toBe('peer');
    expect(again.roles().at(-1)).toBe(`joined desk ${a.deskId()!.slice(0, 8)} at ${a.address}`);
  });
});
