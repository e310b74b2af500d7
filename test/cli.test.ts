import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostProcesses, READY, request, requireBuiltCli, stop, within } from './helpers/hostProcess.js';

const EVENT = { text: 'stand-up', start_date: '2026-03-02 10:00', end_date: '2026-03-02 10:15' };

const hosts = hostProcesses('lansched-cli-');

const tokenOf = (invite: string) => {
  const hash = new URL(invite).hash;
  expect(hash.startsWith('#token=')).toBe(true);
  return decodeURIComponent(hash.slice('#token='.length));
};

beforeAll(requireBuiltCli);
afterEach(hosts.killLeftovers);
afterAll(hosts.cleanup);

describe('cli: starting', () => {
  it('prints a ready line with its URL and an invite that carries --token', async () => {
    const dir = await hosts.tempDir();
    const token = 'office key+42/x&y';
    const host = await hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', token]);

    expect(host.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.port).toBeGreaterThan(0);
    expect(host.invite).toBe(`${host.base}/#token=${encodeURIComponent(token)}`);
    expect(host.invite).not.toContain(' ');
    expect(tokenOf(host.invite)).toBe(token);
    // The printed address is the one it listens on, and the invite's token opens the calendar.
    const res = await request(host.base, 'GET', '/events', tokenOf(host.invite));
    expect(res.status).toBe(200);
    expect(res.json).toEqual([]);
  });

  it('without --token creates a strong token, keeps it in the data folder, and reuses it', async () => {
    const dir = await hosts.tempDir();
    const args = ['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir];
    const first = await hosts.start(args);
    const token = tokenOf(first.invite);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect((await readFile(join(dir, 'token'), 'utf8')).trim()).toBe(token);
    expect((await stat(join(dir, 'token'))).mode & 0o077).toBe(0);
    expect(first.stdout()).toContain(`created a new token, kept in ${join(dir, 'token')}`);
    expect((await request(first.base, 'GET', '/events', token)).status).toBe(200);
    expect((await stop(first)).code).toBe(0);

    const second = await hosts.start(args);
    expect(tokenOf(second.invite)).toBe(token);
    expect(second.stdout()).toContain(`using the token kept in ${join(dir, 'token')}`);
    expect((await request(second.base, 'GET', '/events', token)).status).toBe(200);

    // Another folder gets its own token: it is generated, not a constant.
    const other = await hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', await hosts.tempDir()]);
    expect(tokenOf(other.invite)).not.toBe(token);
  });

  it.each([
    [['--port', 'abc'], '--port must be a port number, not abc'],
    [['--port', '70000'], '--port must be a port number, not 70000'],
    [['--token', 'short'], '--token must be at least 8 characters'],
    [['--no-such-option'], 'no-such-option'],
  ])('refuses %j with exit code 2 and a message, before touching the data folder', async (bad, message) => {
    const dir = join(await hosts.tempDir(), 'not-yet');
    const run = hosts.run(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, ...bad]);
    const exit = await within(run.closed, 15_000, 'the host to refuse its arguments');
    expect(exit).toEqual({ code: 2, signal: null });
    expect(run.stderr()).toContain(message);
    expect(run.stdout()).not.toMatch(READY);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('cli: stopping', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s saves what was acknowledged and exits 0', async (signal) => {
    const dir = await hosts.tempDir();
    const token = 'stop-signal-token';
    const args = ['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', token];
    const host = await hosts.start(args);
    const kept = await request(host.base, 'POST', '/events', token, EVENT);
    const dropped = await request(host.base, 'POST', '/events', token, { ...EVENT, text: 'cancelled' });
    expect(kept.json).toMatchObject({ action: 'inserted' });
    expect(dropped.json).toMatchObject({ action: 'inserted' });
    expect((await request(host.base, 'DELETE', `/events/${dropped.json.tid}`, token)).json).toEqual({ action: 'deleted' });
    const moved = { ...EVENT, start_date: '2026-03-02 11:00', end_date: '2026-03-02 11:15' };
    expect((await request(host.base, 'PUT', `/events/${kept.json.tid}`, token, moved)).json).toEqual({ action: 'updated' });

    const exit = await stop(host, signal);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(host.stdout()).toContain(`${signal}: saving and stopping`);
    expect(host.stderr()).not.toContain('error');
    // Flushed: the journal is folded into the snapshot, which holds the last acknowledged state.
    expect(await readFile(join(dir, 'changes.jsonl'), 'utf8')).toBe('');
    const snapshot = JSON.parse(await readFile(join(dir, 'calendar.json'), 'utf8'));
    expect(snapshot.collections.events).toEqual([{ ...moved, id: kept.json.tid }]);

    const again = await hosts.start(args);
    const listed = await request(again.base, 'GET', '/events', token);
    expect(listed.json).toEqual([{ ...moved, id: kept.json.tid }]);
  });
});

describe('cli: serving', () => {
  const token = 'serving-token-123';
  const start = async () =>
    hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', await hosts.tempDir(), '--token', token]);

  it('answers GET / with the page as HTML', async () => {
    const host = await start();
    const res = await request(host.base, 'GET', '/');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<!doctype html>/i);
  });

  it('answers GET /events without a token 401 and with a wrong one 403, as JSON errors', async () => {
    const host = await start();
    const missing = await request(host.base, 'GET', '/events');
    expect(missing.status).toBe(401);
    expect(missing.type).toMatch(/^application\/json/);
    expect(missing.json).toEqual({ action: 'error', message: expect.stringMatching(/Remote-Token/) });

    const wrong = await request(host.base, 'GET', '/events', 'serving-token-124');
    expect(wrong.status).toBe(403);
    expect(wrong.type).toMatch(/^application\/json/);
    expect(wrong.json).toEqual({ action: 'error', message: expect.stringMatching(/Remote-Token/) });

    const right = await request(host.base, 'GET', '/events', token);
    expect(right.status).toBe(200);
    expect(right.json).toEqual([]);
  });
});
