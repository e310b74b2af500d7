import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from './chromium.mjs';
import { within, type Exit, type Run } from './hostProcess.js';
import type { Lan } from './netns.js';

// The built desktop app (dist/main/index.js, dist/preload/index.cjs) run under Node with the
// stand-in `electron` (test/helpers/electronStandIn), in a network namespace of a simulated LAN.

const RUN = fileURLToPath(new URL('./electronStandIn/run.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/main/index.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Report {
  report: string;
  at: number;
  [key: string]: unknown;
}

export interface StandInDesk {
  run: Run;
  appData: string;
  reports: Report[];
  /** The first report (from now on, or already seen with `seen`) of `type` that matches. */
  next(type: string, match?: (r: Report) => boolean, ms?: number): Promise<Report>;
  seen(type: string, match?: (r: Report) => boolean): Report | undefined;
  command<T = unknown>(cmd: string, args?: Record<string, unknown>, ms?: number): Promise<T>;
  /** A call on the newest window's page (see the stand-in's `page` command). */
  page<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  evaluate<T = unknown>(fn: (arg: any) => unknown, arg?: unknown): Promise<T>;
  /** Every report, including those written just before the process ended. */
  recorded(): Promise<Report[]>;
  exited: Promise<Exit>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** The user's app data folder (a second start of the same user passes the first one's). */
  appData?: string;
  /** `ready` only when the test sends `ready` (a cold start the test can get between). */
  holdReady?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Starts the desktop app as peer `index` of `lan`. */
export async function startStandInDesk(lan: Lan, index: number, options: StandInOptions = {}): Promise<StandInDesk> {
  const appData = options.appData ?? (await mkdtemp(join(tmpdir(), 'lansched-app-')));
  const own = !options.appData;
  const sockets = await mkdtemp(join(tmpdir(), 'lansched-standin-'));
  const controlPath = join(sockets, 'control.sock');
  const recordPath = join(sockets, 'record.jsonl');
  const reports: Report[] = [];
  const waiters = new Set<() => void>();
  const answers = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  let socket: Socket | null = null;
  let connected: () => void = () => undefined;
  const connection = new Promise<void>((resolve) => (connected = resolve));
  const server: Server = createServer((s) => {
    socket = s;
    connected();
    let buffer = '';
    s.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
        if (message.report) {
          reports.push(message);
          for (const w of [...waiters]) w();
        } else answers.get(message.id)?.(message);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(controlPath, resolve));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    STANDIN_APPDATA: appData,
    STANDIN_CONTROL: controlPath,
    STANDIN_RECORD: recordPath,
    STANDIN_HOLD_READY: options.holdReady ? '1' : '0',
    CHROMIUM_PATH: CHROMIUM,
  };
  // Electron sets no NODE_ENV (vitest sets "test").
  delete env.NODE_ENV;
  const run = lan.exec(lan.peers[index]!.ns, process.execPath, [RUN, MAIN], { cwd: ROOT, env });
  const exited = run.closed;
  exited.then(() => [...waiters].forEach((w) => w())).catch(() => undefined);

  const seen = (type: string, match: (r: Report) => boolean = () => true) => reports.find((r) => r.report === type && match(r));
  const next = (type: string, match: (r: Report) => boolean = () => true, ms = 20_000) => {
    const found = new Promise<Report>((resolve, reject) => {
      const check = () => {
        const r = seen(type, match);
        if (r) {
          waiters.delete(check);
          resolve(r);
        } else if (run.child.exitCode !== null || run.child.signalCode !== null) {
          waiters.delete(check);
          reject(new Error(`the app exited before reporting ${type}:\n${run.stdout()}${run.stderr()}`));
        }
      };
      waiters.add(check);
      check();
    });
    return within(found, ms, `the app to report ${type}`);
  };
  let ids = 0;
  const command = async <T>(cmd: string, args: Record<string, unknown> = {}, ms = 20_000): Promise<T> => {
    await within(connection, 20_000, 'the stand-in to connect');
    const id = ++ids;
    const answer = new Promise<{ ok: boolean; value?: unknown; error?: string }>((resolve) => answers.set(id, resolve));
    socket!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    const message = await within(answer, ms, `the stand-in to answer ${cmd}`).finally(() => answers.delete(id));
    if (!message.ok) throw new Error(`${cmd}: ${message.error}`);
    return message.value as T;
  };
  let closing: Promise<void> | null = null;
  return {
    run,
    appData,
    reports,
    next,
    seen,
    command,
    page: (method, ...args) => command('page', { method, args }),
    evaluate: (fn, arg) => command('page', { method: 'evaluate', args: [fn.toString(), arg ?? null] }),
    async recorded() {
      const text = await readFile(recordPath, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Report);
    },
    exited,
    close() {
      closing ??= (async () => {
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
        await exited.catch(() => undefined);
        socket?.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(sockets, { recursive: true, force: true });
        if (own) await rm(appData, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
