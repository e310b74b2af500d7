import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calendarAppRoutes } from '../../main/dav/calendarApps.js';
import { ensureCalendarZone } from '../../main/dav/calendarSettings.js';
import { silentLogger } from '../../main/log.js';
import { createTokenAuth } from '../../main/server/auth.js';
import { events } from '../../main/server/entities.js';
import { createLiveServer, type LiveServerOptions } from '../../main/server/liveServer.js';
import { validateRecord } from '../../main/server/validate.js';
import { newRecordId } from '../../main/store/ids.js';
import { createLowStore } from '../../main/store/lowStore.js';
import { loadOrCreateDeskCertificate } from '../../main/trust/certificate.js';

/** The argument that turns the bench script into the host child. */
export const SERVE_FLAG = '--serve';

/** What the host child is started with. */
export interface BenchHostConfig {
  dataDir: string;
  token: string;
  /** Events committed straight to the store before the host starts (then the store is closed and reopened). */
  preload?: number;
  /** Serve HTTPS/WSS too, with a desk certificate made in the data folder. */
  tls?: boolean;
  /** Extra live-server options (a fan-out window, say), passed through as they are. */
  live?: Record<string, unknown>;
}

type Op = 'cpu' | 'clients' | 'gc' | 'rss' | 'memory' | 'close';
interface HostRequest {
  id: number;
  op: Op;
}
type HostMessage =
  | { type: 'ready'; port: number; startMs: number; preloadMs: number }
  | { type: 'reply'; id: number; value?: unknown; error?: string };

const runGc = () => (globalThis as { gc?: () => void }).gc?.();

/** The event body every bench write sends, with `text` naming the write. */
export const eventBody = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });

/**
 * A whole host as `startHost` composes it (store, calendar zone, token auth, the live server with
 * the calendar apps' routes), built here so that the bench can hand the server extra options.
 */
async function composeHost(config: BenchHostConfig) {
  const store = await createLowStore({ dir: config.dataDir, log: silentLogger });
  await ensureCalendarZone(store);
  const auth = createTokenAuth(config.token);
  const tls = config.tls ? await loadOrCreateDeskCertificate(join(config.dataDir, 'trust'), silentLogger) : null;
  const options: LiveServerOptions = {
    store,
    auth,
    log: silentLogger,
    tls: tls ? { cert: tls.cert, key: tls.key } : null,
    routes: (localChanges) => [calendarAppRoutes({ store, auth, log: silentLogger, onChanges: localChanges })],
    ...(config.live as Partial<LiveServerOptions>),
  };
  const server = createLiveServer(options);
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port, close: () => server.close().then(() => store.close()) };
}

/**
 * Child side: fills the store straight through `commit` (before the host listens, so no
 * socket sees it), starts the host on port 0, then answers the parent over IPC.
 */
export async function serveBenchHost(args: string[]): Promise<void> {
  const config = JSON.parse(args[0] ?? 'null') as BenchHostConfig | null;
  if (!config?.dataDir || !config.token || !process.send) throw new TypeError(`usage: ${SERVE_FLAG} CONFIG_JSON (forked with IPC)`);
  const send = (m: HostMessage) => process.send!(m);
  let t = performance.now();
  if (config.preload) await seedEvents(config.dataDir, config.preload, (i) => eventBody(`preload-${i}`));
  const preloadMs = performance.now() - t;
  runGc();
  t = performance.now();
  const host = await composeHost(config);
  const startMs = performance.now() - t;

  const ops: Record<Op, () => unknown> = {
    cpu: () => process.cpuUsage(),
    clients: () => host.server.clientCount(),
    gc: runGc,
    rss: () => {
      runGc();
      runGc();
      return process.memoryUsage().rss;
    },
    memory: () => {
      runGc();
      runGc();
      return process.memoryUsage();
    },
    close: () => host.close(),
  };
  process.on('message', (m: HostRequest) => {
    Promise.resolve()
      .then(() => ops[m.op]())
      .then(
        (value) => send({ type: 'reply', id: m.id, value }),
        (err: Error) => send({ type: 'reply', id: m.id, error: err.message }),
      )
      .then(() => m.op === 'close' && process.disconnect());
  });
  // The parent went away without asking: save and let the process end.
  process.once('disconnect', () => void host.close());
  send({ type: 'ready', port: host.port, startMs, preloadMs });
}

/**
 * Commits `count` events (the `i`th with the body `bodyOf(i)`) straight to the store in `dataDir`,
 * a thousand to a commit, as POST /events would store them; no host may be running on it.
 * Resolves with their ids, in order, once the store is closed.
 */
export async function seedEvents(dataDir: string, count: number, bodyOf: (i: number) => Record<string, unknown>): Promise<string[]> {
  const store = await createLowStore({ dir: dataDir, log: silentLogger });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ ...validateRecord(events.spec, bodyOf(i + j)), id: newRecordId() }));
    await store.commit(batch.map((record) => ({ entity: events.name, op: 'add' as const, record })));
    for (const record of batch) ids.push(record.id);
  }
  await store.close();
  return ids;
}

/** The parent's handle on a host child. */
export interface BenchHost {
  port: number;
  /** How long the child took to fill the store and to start the host on it. */
  preloadMs: number;
  startMs: number;
  /** The child's CPU time so far (all its threads, and the kernel on its behalf), in microseconds. */
  cpuUsage(): Promise<NodeJS.CpuUsage>;
  /** Write system calls the child has made so far (`syscw` of /proc/PID/io; null where there is no /proc). */
  writeCalls(): Promise<number | null>;
  clientCount(): Promise<number>;
  gc(): Promise<void>;
  /** The child's resident memory in bytes, right after a full collection. */
  rss(): Promise<number>;
  /** All of `process.memoryUsage()`, right after a full collection. */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Closes the host (which saves the snapshot) and waits for the child to exit. */
  close(): Promise<void>;
  /** Last resort when the bench fails. */
  kill(): void;
}

async function syscw(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const text = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => null);
  const m = text && /^syscw:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** Forks `script SERVE_FLAG CONFIG` and resolves once its host listens. The child's output goes to our stderr. */
export function spawnBenchHost(script: string, config: BenchHostConfig): Promise<BenchHost> {
  const child: ChildProcess = fork(script, [SERVE_FLAG, JSON.stringify(config)], {
    stdio: ['ignore', 2, 2, 'ipc'],
    execArgv: ['--expose-gc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`host child exited (${code}) before answering`));
    pending.clear();
  });
  const ask = (op: Op) =>
    new Promise<unknown>((resolve, reject) => {
      if (!child.connected) return reject(new Error('host child is gone'));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op } satisfies HostRequest);
    });
  let closing: Promise<void> | null = null;

  return new Promise((resolve, reject) => {
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`host child exited (${code}) before it was ready`)));
    child.on('message', (m: HostMessage) => {
      if (m.type === 'reply') {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.value);
        return;
      }
      resolve({
        port: m.port,
        preloadMs: m.preloadMs,
        startMs: m.startMs,
        cpuUsage: async () => (await ask('cpu')) as NodeJS.CpuUsage,
        writeCalls: () => syscw(child.pid),
        clientCount: async () => (await ask('clients')) as number,
        gc: async () => void (await ask('gc')),
        rss: async () => (await ask('rss')) as number,
        memory: async () => (await ask('memory')) as NodeJS.MemoryUsage,
        close() {
          closing ??= (async () => {
            if (child.exitCode === null && child.signalCode === null) await ask('close');
            await exited;
          })();
          return closing;
        },
        kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill();
        },
      });
    });
  });
}
