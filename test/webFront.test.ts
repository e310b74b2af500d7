import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../main/log.js';
import { frontCheck, hostOf, ownNames } from '../main/server/webFront.js';
import { loadOrCreateDeskCertificate, type DeskCertificate } from '../main/trust/certificate.js';
import { request } from './helpers/hostProcess.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

let host: TestHost;
let cert: DeskCertificate;
let certDir: string;
beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'lansched-front-'));
  cert = await loadOrCreateDeskCertificate(certDir, silentLogger);
  host = await startTestHost({ tls: cert });
});
afterAll(async () => {
  await host.close();
  await rm(certDir, { recursive: true, force: true });
});

describe('one port, plain HTTP and HTTPS', () => {
  it('serves the desk\'s certificate over TLS on the same port as plain HTTP on 127.0.0.1', async () => {
    const secure = await request(`https://127.0.0.1:${host.port}`, 'GET', '/events', TOKEN, undefined, 5000, { fingerprint: cert.fingerprint });
    expect(secure.status).toBe(200);
    const plain = await request(host.base, 'GET', '/events', TOKEN);
    expect(plain.status).toBe(200);
  });
});

describe('the Host allow-list (DNS rebinding)', () => {
  it('answers a page whose name resolves to this machine with nothing, over REST and the socket', async () => {
    const rebound = await request(host.base, 'GET', '/events', TOKEN, undefined, 5000, { headers: { Host: `attacker.example:${host.port}` } });
    expect(rebound.status).toBe(421);
    expect(rebound.json).toEqual({ action: 'error', message: expect.stringMatching(/does not answer to the name/) });
    const hs = (await host.call('GET', '/api/v1')).body;
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api/v1?token=${hs.key}&ws=1`, { headers: { Host: `attacker.example:${host.port}`, Origin: `http://attacker.example:${host.port}` } });
    ws.on('error', () => undefined);
    expect(await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)))).toBe(421);
    for (const name of [`localhost:${host.port}`, `127.0.0.1:${host.port}`, '127.0.0.1']) {
      expect((await request(host.base, 'GET', '/events', TOKEN, undefined, 5000, { headers: { Host: name } })).status).toBe(200);
    }
  });

  it('reads Host headers strictly', () => {
    expect(hostOf('Desk-7.local:3210')).toBe('desk-7.local');
    expect(hostOf('[::1]:3210')).toBe('::1');
    expect(hostOf('10.0.0.5')).toBe('10.0.0.5');
    for (const bad of [undefined, '', 'a b', 'x:y:z', 'evil.example/path', 'x'.repeat(400)]) expect(hostOf(bad)).toBeNull();
  });

  it('on a LAN address: answers only its own names, takes nothing in clear, and sends page loads to https', () => {
    const lan = (over: { url?: string; method?: string; host?: string; headers?: Record<string, string>; encrypted?: boolean }) =>
      ({
        url: over.url ?? '/',
        method: over.method ?? 'GET',
        headers: { host: over.host ?? '192.168.1.20:3210', ...over.headers },
        socket: { localAddress: '::ffff:192.168.1.20', encrypted: over.encrypted ?? false },
      }) as unknown as IncomingMessage;
    const names = new Set([...ownNames(), 'desk-7.local']);
    expect(frontCheck(lan({}), names)).toEqual([308, 'https://192.168.1.20:3210/']);
    expect(frontCheck(lan({ url: '/?x=1#y' }), names)).toEqual([308, 'https://192.168.1.20:3210/?x=1#y']);
    expect(frontCheck(lan({ url: '/events' }), names)?.[0]).toBe(403);
    expect(frontCheck(lan({ url: '/.well-known/caldav' }), names)?.[0]).toBe(403);
    expect(frontCheck(lan({ url: '/app.js', headers: { 'remote-token': 'x' } }), names)?.[0]).toBe(403);
    expect(frontCheck(lan({ method: 'POST' }), names)?.[0]).toBe(403);
    expect(frontCheck(lan({ encrypted: true, url: '/events' }), names)).toBeNull();
    expect(frontCheck(lan({ encrypted: true, host: 'desk-7.local:3210' }), names)).toBeNull();
    expect(frontCheck(lan({ encrypted: true, host: 'rebound.example:3210' }), names)?.[0]).toBe(421);
    // A loopback connection answers to loopback names only.
    const loop = { url: '/', method: 'GET', headers: { host: '192.168.1.20:3210' }, socket: { localAddress: '127.0.0.1' } } as unknown as IncomingMessage;
    expect(frontCheck(loop, names)?.[0]).toBe(421);
  });
});

describe('desk routes on the web port', () => {
  it('answer the browser token (and anyone) 403: desks talk on their own port, after proving the key', async () => {
    for (const [method, path] of [['GET', '/api/v1/peer/status'], ['GET', '/api/v1/peer/state'], ['POST', '/api/v1/peer/merge'], ['POST', '/api/v1/peer/handover']] as const) {
      const res = await host.call(method, path, method === 'POST' ? { changes: [] } : undefined);
      expect(res.status, path).toBe(403);
      expect(res.body).toEqual({ action: 'error', message: expect.stringMatching(/desk port/) });
    }
    expect(host.store.revision()).toBe(0);
  });
});
