import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../main/log.js';
import type { Channel, DeskInfo } from '../main/peer/channel.js';
import { defaultTiming } from '../main/peer/context.js';
import { connectDesk, LinkRefused, startDeskServer, type DeskServer, type LinkIdentity } from '../main/peer/deskLink.js';
import { deskIdOf, loadOrCreateDeskCertificate, type DeskCertificate } from '../main/trust/certificate.js';
import { formatDeskInvite, parseDeskInvite } from '../main/trust/invite.js';
import { calendarSecrets, checkJoinKey, joinKeyProblem, legacyCalendarId, newCalendarId, newJoinKey } from '../main/trust/keys.js';
import { proofHolds, proofOf } from '../main/trust/proof.js';
import { request } from './helpers/hostProcess.js';

describe('join keys', () => {
  it('are 128 random bits and a checksum, and only keys this app made pass', () => {
    const key = newJoinKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(18);
    expect(new Set(Array.from({ length: 50 }, newJoinKey)).size).toBe(50);
    expect(joinKeyProblem(key)).toBeUndefined();
    expect(checkJoinKey(`  ${key}\n`)).toBe(key);
    // One character changed: the checksum catches it.
    const typo = key.slice(0, 5) + (key[5] === 'A' ? 'B' : 'A') + key.slice(6);
    expect(joinKeyProblem(typo)).toMatch(/typo/);
    // Made up by a person: too short, words, or the right length but not from this app.
    for (const made of ['office', 'office-join-key-for-the-lan-tests', 'password-password-pass', 'abcdefghijklmnopqrstuvwx', 'a b c', '']) {
      expect(joinKeyProblem(made), made).toBeDefined();
    }
    expect(() => checkJoinKey('office-key-2026')).toThrow(/not a calendar key/);
  });

  it('of the previous version (16 random bytes) still pass, but not a regular string of the same shape', () => {
    const old = Buffer.from('8d1f0a3e9c27b64518f2a0dd43be9c71', 'hex').toString('base64url');
    expect(old).toHaveLength(22);
    expect(joinKeyProblem(old)).toBeUndefined();
    expect(joinKeyProblem('AAAAAAAAAAAAAAAAAAAAAA')).toMatch(/too regular/);
  });

  it('give separate secrets for browsers and desks through HKDF, the same on every desk', () => {
    const key = newJoinKey();
    const a = calendarSecrets(key);
    expect(calendarSecrets(key)).toEqual(a);
    expect(a.browserToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.deskSecret).toHaveLength(32);
    expect(a.deskSecret.toString('base64url')).not.toBe(a.browserToken);
    expect(calendarSecrets(newJoinKey()).browserToken).not.toBe(a.browserToken);
  });

  it('say nothing about the calendar id: a new calendar gets a random one; the previous version\'s id stays as it was', () => {
    expect(newCalendarId()).toMatch(/^[0-9a-f]{24}$/);
    expect(newCalendarId()).not.toBe(newCalendarId());
    // What the previous version derived from this key, byte for byte.
    expect(legacyCalendarId('office-join-key-for-the-lan-tests')).toBe(legacyCalendarId('office-join-key-for-the-lan-tests'));
    expect(legacyCalendarId('office-join-key-for-the-lan-tests')).toMatch(/^[0-9a-f]{24}$/);
  });
});

describe('desk invites', () => {
  it('carry the calendar, its key and where its desks are, pinned by their key fingerprints', () => {
    const calendar = { id: newCalendarId(), name: 'Büro & Co', joinKey: newJoinKey(), keyGen: 2 };
    const desks = [{ deskId: 'a'.repeat(32), addresses: ['10.0.0.5', 'fe80::1'], deskPort: 3211 }];
    const text = `You are invited…\nDesk invite: ${formatDeskInvite({ calendar, desks })}\nIn a browser: https://…`;
    expect(parseDeskInvite(text)).toEqual({ calendar, desks });
  });

  it('refuse anything that is not one, saying what is wrong', () => {
    expect(() => parseDeskInvite('hello')).toThrow(/not a LAN Scheduler invite/);
    expect(() => parseDeskInvite(`lansched://join?c=${newCalendarId()}&n=Office&k=short&g=0`)).toThrow(/not a calendar key/);
    expect(() => parseDeskInvite(`lansched://join?c=${newCalendarId()}&n=Office&k=${newJoinKey()}&g=0&d=notadesk~1~10.0.0.1`)).toThrow(/lists a desk/);
    expect(() => parseDeskInvite(`lansched://join?c=XYZ&n=Office&k=${newJoinKey()}`)).toThrow(/names no calendar/);
    expect(() => parseDeskInvite(`lansched://join?c=${newCalendarId()}&n=ev%0Ail&k=${newJoinKey()}`)).toThrow(/name is not usable/);
  });
});

let dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-trust-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe('desk certificates', () => {
  it('are made once; the desk id is a hash of the key, kept when the certificate is issued anew', async () => {
    const dir = await tempDir();
    const first = await loadOrCreateDeskCertificate(dir, silentLogger);
    expect(first.deskId).toMatch(/^[a-z2-7]{32}$/);
    expect(first.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(deskIdOf(first.cert)).toBe(first.deskId);
    expect((await stat(join(dir, 'desk-key.pem'))).mode & 0o077).toBe(0);
    expect(await loadOrCreateDeskCertificate(dir, silentLogger)).toEqual(first);
    await unlink(join(dir, 'desk-cert.pem'));
    const again = await loadOrCreateDeskCertificate(dir, silentLogger);
    expect(again.deskId).toBe(first.deskId);
    expect(again.cert).not.toBe(first.cert);
    const other = await loadOrCreateDeskCertificate(await tempDir(), silentLogger);
    expect(other.deskId).not.toBe(first.deskId);
  });
});

describe('proofs of the key', () => {
  it('hold only for the side, the connection and the secret they were made for', () => {
    const { deskSecret } = calendarSecrets(newJoinKey());
    const t = { calendarId: newCalendarId(), clientId: 'a'.repeat(32), serverId: 'b'.repeat(32), binding: Buffer.alloc(32, 1) };
    const proof = proofOf(deskSecret, 'client', t);
    expect(proofHolds(deskSecret, 'client', t, proof)).toBe(true);
    expect(proofHolds(deskSecret, 'server', t, proof)).toBe(false); // echoed back
    expect(proofHolds(deskSecret, 'client', { ...t, binding: Buffer.alloc(32, 2) }, proof)).toBe(false); // replayed on another connection
    expect(proofHolds(calendarSecrets(newJoinKey()).deskSecret, 'client', t, proof)).toBe(false);
    expect(proofHolds(deskSecret, 'client', t, 42)).toBe(false);
  });
});

describe('desk links on 127.0.0.1', () => {
  const calendarId = newCalendarId();
  let key: string;
  let servers: DeskServer[];
  let channels: Channel[];
  beforeEach(() => {
    key = newJoinKey();
    servers = [];
    channels = [];
  });
  afterEach(async () => {
    for (const c of channels) c.close('test over');
    await Promise.all(servers.map((s) => s.close()));
  });

  const identity = async (joinKey = key, keyGen = 0): Promise<LinkIdentity & { cert: DeskCertificate }> => {
    const cert = await loadOrCreateDeskCertificate(await tempDir(), silentLogger);
    const info = (): DeskInfo => ({ deskId: cert.deskId, name: 'Desk', role: 'host', host: null, addresses: ['127.0.0.1'], deskPort: 1, webPort: 1, revision: 0, inSyncAt: 0 });
    return { cert, calendar: () => ({ id: calendarId, deskSecret: calendarSecrets(joinKey).deskSecret, keyGen }), info };
  };
  const timing = { ...defaultTiming(Date.now), heartbeatMs: 100, lossMs: 2000 };
  const serve = async (me: LinkIdentity, over: Partial<typeof timing> = {}) => {
    const refusals: string[] = [];
    const accepted: Channel[] = [];
    const server = await startDeskServer({
      port: 0,
      bind: '127.0.0.1',
      me,
      timing: { ...timing, ...over },
      log: silentLogger,
      onChannel: (c) => {
        accepted.push(c);
        channels.push(c);
        c.serve({ echo: (args) => args, time: () => Date.now() });
      },
      onRefused: (kind) => refusals.push(kind),
    });
    servers.push(server);
    return { server, refusals, accepted };
  };
  const connect = async (me: LinkIdentity, port: number, deskId?: string) => {
    const c = await connectDesk({ address: '127.0.0.1', port, deskId }, me, timing, silentLogger);
    channels.push(c);
    return c;
  };
  const refusal = (p: Promise<unknown>) => p.then(() => 'connected', (err) => (err instanceof LinkRefused ? err.kind : `other: ${(err as Error).message}`));

  it('connects two desks that hold the same key, each knowing the other by its key, and carries calls both ways', async () => {
    const [a, b] = [await identity(), await identity()];
    const { server, accepted } = await serve(a);
    const channel = await connect(b, server.port, a.cert.deskId);
    expect(channel.peer.deskId).toBe(a.cert.deskId);
    expect(await channel.call('echo', { hello: 'there' })).toEqual({ hello: 'there' });
    await expect.poll(() => accepted.length).toBe(1);
    expect(accepted[0]!.peer.deskId).toBe(b.cert.deskId);
    channel.serve({ who: () => 'b' });
    expect(await accepted[0]!.call('who')).toBe('b');
    await expect(channel.call('nothing')).rejects.toThrow(/unknown method/);
    // The connecting side learns the other's clock from its pings.
    await expect.poll(() => channel.clockOffset()).not.toBeNull();
    expect(Math.abs(channel.clockOffset()!)).toBeLessThan(1000);
  });

  it('refuses a desk with another key on both sides, and the key-changed answer goes only to an older generation', async () => {
    const host = await identity(key, 3);
    const { server, refusals } = await serve(host);
    expect(await refusal(connect(await identity(newJoinKey(), 3), server.port))).toBe('proof');
    expect(await refusal(connect(await identity(newJoinKey(), 1), server.port))).toBe('key-changed');
    expect(refusals).toEqual(['proof', 'key-changed']);
    // A desk that answers without the key: the connecting side refuses it, after sending only its proof.
    const stranger = await serve(await identity(newJoinKey(), 0));
    const me = await identity(key, 0);
    expect(await refusal(connect(me, stranger.server.port))).toBe('proof');
  });

  it('refuses a desk whose key is not the one its id names (a copied announcement), before any proof', async () => {
    const [a, b] = [await identity(), await identity()];
    const { server, refusals } = await serve(a);
    const impostorOf = 'z'.repeat(32);
    expect(await refusal(connect(b, server.port, impostorOf))).toBe('pin');
    expect(refusals).toEqual([]); // the server never saw a hello
  });

  it('answers browsers and certificate-less clients nothing, and HTTP requests with 403', async () => {
    const { server } = await serve(await identity());
    const plain = await request(`https://127.0.0.1:${server.port}`, 'GET', '/api/v1/peer/state', calendarSecrets(key).browserToken);
    expect(plain.status).toBe(403);
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/desk`, { rejectUnauthorized: false });
    ws.on('error', () => undefined);
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(401);
  });

  it('refuses another protocol version in words, and a stranger who never proves is cut off', async () => {
    const me = await identity();
    const { server, refusals } = await serve(me);
    const other = await identity();
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/desk`, { cert: other.cert.cert, key: other.cert.key, rejectUnauthorized: false });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ t: 'hello', v: 3, calendar: calendarId, keyGen: 0, proof: 'x' }));
    const [code, reason] = await new Promise<[number, string]>((resolve) => ws.once('close', (c, r) => resolve([c, r.toString()])));
    expect(code).toBe(4003);
    expect(reason).toBe('protocol 3; this desk speaks 2');
    expect(refusals).toEqual(['protocol']);
  });

  it('gives up on a desk that goes silent', async () => {
    const [a, b] = [await identity(), await identity()];
    const { server, accepted } = await serve(a, { lossMs: 400 });
    // A desk whose pings stop (a pulled cable looks the same from here): it pings once a minute.
    const quiet = await connectDesk({ address: '127.0.0.1', port: server.port }, b, { ...timing, heartbeatMs: 60_000, lossMs: 120_000 }, silentLogger);
    channels.push(quiet);
    await expect.poll(() => accepted.length).toBe(1);
    expect(await new Promise<string>((resolve) => accepted[0]!.onClose(resolve))).toBe('silent');
  });
});
