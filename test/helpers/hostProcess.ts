import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The built host, exactly as `npm run host` runs it: `npm test` builds it first.
export const CLI = fileURLToPath(new URL('../../dist/main/cli.js', import.meta.url));
export const READY = /LAN Scheduler host ready at (https?:\/\/\S+?)\/ · invite for browsers: (\S+)/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles once the process has exited and its output is read to the end. */
  closed: Promise<Exit>;
}

export interface ReadyHost extends Run {
  base: string;
  invite: string;
  port: number;
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with what `found` answers once it answers something, asking again whenever `output`
 * reads more; rejects with `exitMessage()` if `exited` settles first, or after `timeoutMs`.
 * `found` reads what the caller collected: its own listener on `output` was added earlier.
 */
export function awaitOutput<T, E>(o: {
  output: Readable;
  found: () => T | null | undefined | false;
  exited: Promise<E>;
  exitMessage: (exit: E) => string;
  timeoutMs: number;
  what: string;
}): Promise<T> {
  let check = () => {};
  const said = new Promise<T>((resolve, reject) => {
    check = () => {
      const answer = o.found();
      if (answer) resolve(answer);
    };
    o.output.on('data', check);
    o.exited.then((exit) => reject(new Error(o.exitMessage(exit))), reject);
    check();
  });
  return within(said, o.timeoutMs, o.what).finally(() => o.output.off('data', check));
}

/** For a beforeAll: a missing build would otherwise show up as every test failing to start a host. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` builds before testing)`);
}

/** Collects a child's output as it comes, and settles `closed` once it has exited. */
export function watchChild(child: ChildProcess): Run {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, closed };
}

/**
 * Host processes and temp folders for one test file. The file registers `killLeftovers`
 * in afterEach, so a failed test cannot leave a host holding its folder for the next one,
 * and `cleanup` in afterAll.
 */
export function hostProcesses(tempPrefix: string) {
  const running = new Set<ChildProcess>();
  const folders: string[] = [];
  // A timed-out test still running in the background must not start hosts it leaves behind.
  let finished = false;

  const run = (args: string[]): Run => {
    if (finished) throw new Error('the tests are over');
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const watched = watchChild(child);
    watched.closed.finally(() => running.delete(child)).catch(() => undefined);
    return watched;
  };

  /** Starts the host and resolves on its ready line; rejects, with its output, if it exits first. */
  const start = async (args: string[], timeoutMs = 15_000, what = `the ready line of ${args.join(' ')}`): Promise<ReadyHost> => {
    const host = run(args);
    const [, base, invite] = await awaitOutput({
      output: host.child.stdout!,
      found: () => READY.exec(host.stdout()),
      exited: host.closed,
      exitMessage: (exit) => `the host exited (${exit.code ?? exit.signal}) before it was ready:\n${host.stdout()}${host.stderr()}`,
      timeoutMs,
      what,
    });
    return { ...host, base: base!, invite: invite!, port: Number(new URL(base!).port) };
  };

  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), tempPrefix));
    folders.push(dir);
    return dir;
  };

  const killLeftovers = async (): Promise<void> => {
    for (const child of running) child.kill('SIGKILL');
    await within(
      Promise.all([...running].map((c) => new Promise((resolve) => c.once('close', resolve)))),
      10_000,
      'leftover hosts to exit',
    );
  };

  const cleanup = async (): Promise<void> => {
    finished = true;
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  };

  return { run, start, tempDir, killLeftovers, cleanup };
}

export async function stop(host: Run, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  host.child.kill(signal);
  return within(host.closed, 15_000, `the host to exit on ${signal}`);
}

export interface Answer {
  status: number;
  type: string;
  text: string;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One request, http or https. Desks on a LAN answer https with their own self-signed certificate:
 * the test accepts it as a browser would after its warning, or, with `fingerprint`, only that one.
 * `json` stays undefined for an answer that is not JSON, so a test can still look at a page's type and text.
 */
export function request(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  timeoutMs = 10_000,
  extra: { headers?: Record<string, string>; fingerprint?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...extra.headers };
  if (token !== undefined) headers['Remote-Token'] = token;
  const url = new URL(base + path);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        headers: { ...headers, ...(payload !== undefined && { 'Content-Length': Buffer.byteLength(payload) }) },
        timeout: timeoutMs,
        rejectUnauthorized: false,
        checkServerIdentity: (_host: string, cert: { fingerprint256: string }) =>
          extra.fingerprint && cert.fingerprint256 !== extra.fingerprint ? new Error(`not the certificate ${extra.fingerprint}`) : undefined,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          const type = String(res.headers['content-type'] ?? '');
          try {
            resolve({ status: res.statusCode!, type, text, json: type.includes('json') ? JSON.parse(text) : undefined, headers: res.headers });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
