import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// Crash safety of the built headless host: SIGKILL it mid-storm, restart it on the same
// folder, and check that every acknowledged write is there in its acknowledged state.
// A SIGKILL keeps what the process handed to the kernel, so this proves the order of
// writes and the recovery, not the fsyncs (that would take pulling the power).

const CLI = fileURLToPath(new URL('../dist/main/cli.js', import.meta.url));
const READY = /LAN Scheduler host ready at (http:\/\/\S+?)\/ · invite for browsers: /;
const TOKEN = 'crash-test-token-0123';
const WRITERS = 16;
/** The store's default: journal lines after which it rewrites calendar.json and empties the journal. */
const COMPACT_EVERY = 5000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Host {
  child: ChildProcess;
  base: string;
  stdout(): string;
  stderr(): string;
  closed: Promise<Exit>;
}

const running = new Set<ChildProcess>();
const folders: string[] = [];
/** Set once the file is done: a timed-out test still running in the background must not start hosts it leaves behind. */
let finished = false;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts the host on `dir` and resolves on its ready line; rejects, with its output, if it exits first. */
async function startHost(dir: string): Promise<Host> {
  if (finished) throw new Error('the tests are over');
  const args = [CLI, '--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', TOKEN];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const ready = new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = READY.exec(stdout);
      if (m) {
        child.stdout!.off('data', check);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    closed.then((exit) => reject(new Error(`the host exited (${exit.code ?? exit.signal}) before it was ready:\n${stdout}${stderr}`)));
  });
  const base = await within(ready, 20_000, `the host on ${dir} to be ready`);
  return { child, base, stdout: () => stdout, stderr: () => stderr, closed };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-crash-'));
  folders.push(dir);
  return dir;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', 'Remote-Token': TOKEN },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, json: await res.json() };
}

const eventBody = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });

/** Every event on the host, id → text. */
async function listEvents(base: string): Promise<Map<string, string>> {
  const res = await call(base, 'GET', '/events');
  expect(res.status).toBe(200);
  return new Map((res.json as { id: string; text: string }[]).map((e) => [e.id, e.text]));
}

/** What the folder looks like after a start: no file set aside, no error from the store. */
async function expectCleanStart(host: Host, dir: string) {
  expect(host.stderr().split('\n').filter((l) => l.startsWith('error'))).toEqual([]);
  expect((await readdir(dir)).filter((f) => f.includes('unreadable'))).toEqual([]);
}

/** An event's state: its text, or null for deleted. */
type State = string | null;

/** What the host must hold for one event: the acknowledged state, or the result of a write that was never answered. */
interface Expected {
  acked: State;
  unanswered?: State;
}

/**
 * The writes the client knows about. Every writer owns its events and writes one at a
 * time, so an event has at most one write in flight, and its possible states after a crash
 * are the acknowledged one and that write's result.
 */
class Ledger {
  events = new Map<string, Expected>();
  /** Texts of creates that were sent and never answered: each may or may not have been saved. */
  unansweredCreates = new Set<string>();

  /** Checks what a restarted host holds against every acknowledged write, then takes it as the new truth. */
  check(found: Map<string, string>): string[] {
    const problems: string[] = [];
    const show = (s: State | undefined) => (s === null ? 'deleted' : JSON.stringify(s));
    for (const [id, want] of this.events) {
      const got = found.get(id) ?? null;
      if (got !== want.acked && !(want.unanswered !== undefined && got === want.unanswered)) {
        const or = want.unanswered === undefined ? '' : ` or ${show(want.unanswered)} (unanswered)`;
        problems.push(`${id}: acknowledged ${show(want.acked)}${or}, found ${show(got)}`);
      }
    }
    for (const [id, text] of found) {
      if (!this.events.has(id) && !this.unansweredCreates.has(text)) problems.push(`${id}: ${show(text)} was never written`);
    }
    this.events = new Map([...found].map(([id, text]) => [id, { acked: text }]));
    this.unansweredCreates.clear();
    return problems;
  }
}

interface StormResult {
  acks: number;
  /** Requests sent and not yet answered when the kill was sent. */
  inFlightAtKill: number;
  /** Answers other than an acknowledgement while the host was alive: each is a defect. */
  failures: string[];
  exit: Exit;
}

/**
 * Runs WRITERS concurrent writers against the host (creates, updates and deletes of
 * their own acknowledged events) until `killWhen` resolves, then SIGKILLs the host with
 * requests in flight and waits for every writer to stop.
 */
async function stormAndKill(
  host: Host,
  ledger: Ledger,
  tag: string,
  killWhen: (acks: { reached(n: number): Promise<void> }) => Promise<unknown>,
): Promise<StormResult> {
  let acks = 0;
  let inFlight = 0;
  let killed = false;
  let inFlightAtKill = -1;
  const failures: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const acked = () => {
    acks++;
    for (const w of waiters.filter((w) => acks >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const reached = (n: number) => (acks >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));

  // Events already in the ledger are shared out among the writers.
  const owned: string[][] = Array.from({ length: WRITERS }, () => []);
  [...ledger.events].forEach(([id, e], i) => e.acked !== null && owned[i % WRITERS]!.push(id));

  const send = async (method: string, path: string, body?: unknown) => {
    inFlight++;
    try {
      return await call(host.base, method, path, body);
    } catch (err) {
      if (!killed) failures.push(`${method} ${path}: ${(err as Error).message}`);
      return null;
    } finally {
      inFlight--;
    }
  };

  const writer = async (w: number) => {
    const mine = owned[w]!;
    for (let n = 0; !killed; n++) {
      const text = `${tag}-w${w}-${n}`;
      const kind = n % 10;
      if (mine.length < 4 || kind < 6) {
        ledger.unansweredCreates.add(text);
        const res = await send('POST', '/events', eventBody(text));
        if (!res) return;
        if (res.status !== 200 || res.json?.action !== 'inserted' || typeof res.json.tid !== 'string') {
          failures.push(`POST ${text}: ${res.status} ${JSON.stringify(res.json)}`);
          return;
        }
        ledger.unansweredCreates.delete(text);
        ledger.events.set(res.json.tid, { acked: text });
        mine.push(res.json.tid);
        acked();
      } else if (kind < 9) {
        const id = mine[(n * 7) % mine.length]!;
        const e = ledger.events.get(id)!;
        e.unanswered = text;
        const res = await send('PUT', `/events/${id}`, eventBody(text));
        if (!res) return;
        if (res.status !== 200 || res.json?.action !== 'updated') {
          failures.push(`PUT ${id}: ${res.status} ${JSON.stringify(res.json)}`);
          return;
        }
        ledger.events.set(id, { acked: text });
        acked();
      } else {
        const id = mine.splice((n * 13) % mine.length, 1)[0]!;
        const e = ledger.events.get(id)!;
        e.unanswered = null;
        const res = await send('DELETE', `/events/${id}`);
        if (!res) return;
        if (res.status !== 200 || res.json?.action !== 'deleted') {
          failures.push(`DELETE ${id}: ${res.status} ${JSON.stringify(res.json)}`);
          return;
        }
        ledger.events.set(id, { acked: null });
        acked();
      }
    }
  };

  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  // A writer that stops early (a failure) must not leave the kill waiting forever.
  const allStopped = Promise.all(writers).then(() => {
    if (!killed) throw new Error(`the writers stopped before the kill: ${failures.slice(0, 5).join('; ')}`);
  });
  await within(Promise.race([killWhen({ reached }), allStopped]), 40_000, `the moment to kill (${acks} acks so far)`);
  killed = true;
  inFlightAtKill = inFlight;
  host.child.kill('SIGKILL');
  const exit = await within(host.closed, 10_000, 'the killed host to exit');
  await within(allStopped, 20_000, 'the writers to stop after the kill');
  return { acks, inFlightAtKill, failures, exit };
}

/** Resolves on the first change to `name` in `dir`: the store writing its snapshot. */
function nextChangeOf(dir: string, name: string): { seen: Promise<void>; close(): void } {
  const watcher = watch(dir);
  const seen = new Promise<void>((resolve, reject) => {
    watcher.on('change', (_type, file) => file === name && resolve());
    watcher.on('error', reject);
  });
  return { seen, close: () => watcher.close() };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` builds before testing)`);
});

afterEach(async () => {
  for (const child of running) child.kill('SIGKILL');
  await within(
    Promise.all([...running].map((c) => new Promise((resolve) => c.once('close', resolve)))),
    10_000,
    'leftover hosts to exit',
  );
});

afterAll(async () => {
  finished = true;
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('crash: SIGKILL during a write storm, three times on one folder', () => {
  const ledger = new Ledger();
  let dir: string;
  let total = 0;
  beforeAll(async () => {
    dir = await tempDir();
  });

  /** Restarts the host and checks every acknowledged write; answers the running host. */
  const restartAndCheck = async () => {
    const host = await startHost(dir);
    await expectCleanStart(host, dir);
    expect(ledger.check(await listEvents(host.base))).toEqual([]);
    return host;
  };

  const round = async (tag: string, killWhen: Parameters<typeof stormAndKill>[3]) => {
    const host = await startHost(dir);
    await expectCleanStart(host, dir);
    const result = await stormAndKill(host, ledger, tag, killWhen);
    expect(result.failures).toEqual([]);
    expect(result.exit.signal).toBe('SIGKILL');
    expect(result.inFlightAtKill).toBeGreaterThan(0);
    total += result.acks;
    // Checked in the round that killed, so a loss is reported where it was caused.
    const after = await restartAndCheck();
    after.child.kill('SIGKILL');
    await within(after.closed, 10_000, 'the checked host to exit');
    return result;
  };

  it('round 1: killed while writes are only in the journal', async () => {
    const result = await round('r1', ({ reached }) => reached(400));
    expect(result.acks).toBeGreaterThanOrEqual(400);
    expect(result.acks).toBeLessThan(COMPACT_EVERY);
  });

  it('round 2: killed while the journal is being folded into a new calendar.json', async () => {
    let watching: ReturnType<typeof nextChangeOf> | undefined;
    try {
      await round('r2', async ({ reached }) => {
        // Started hosts write calendar.json.tmp too; only watch once the storm is near the compaction.
        await reached(COMPACT_EVERY - 1000);
        watching = nextChangeOf(dir, 'calendar.json.tmp');
        await within(watching.seen, 20_000, `a compaction (every ${COMPACT_EVERY} journal lines) to write calendar.json.tmp`);
      });
    } finally {
      watching?.close();
    }
  }, 50_000);

  it('round 3: killed just as the new calendar.json replaces the old one', async () => {
    let watching: ReturnType<typeof nextChangeOf> | undefined;
    try {
      await round('r3', async ({ reached }) => {
        await reached(COMPACT_EVERY - 1000);
        watching = nextChangeOf(dir, 'calendar.json');
        await within(watching.seen, 20_000, `a compaction (every ${COMPACT_EVERY} journal lines) to write calendar.json`);
      });
    } finally {
      watching?.close();
    }
  }, 50_000);

  it('keeps every acknowledged write after the last kill, and through a clean stop', async () => {
    expect(total).toBeGreaterThan(2 * COMPACT_EVERY);
    const host = await restartAndCheck();
    expect(ledger.events.size).toBeGreaterThan(1000);
    host.child.kill('SIGTERM');
    expect(await within(host.closed, 15_000, 'the host to stop')).toEqual({ code: 0, signal: null });
    const again = await restartAndCheck();
    again.child.kill('SIGTERM');
    expect(await within(again.closed, 15_000, 'the host to stop')).toEqual({ code: 0, signal: null });
  });
});

describe('crash: damaged files', () => {
  it('sets aside a calendar.json that does not parse, says so, and starts', async () => {
    const dir = await tempDir();
    const garbage = Buffer.concat([Buffer.from('{"format":1,"storeId":"torn'), Buffer.from([0, 0xff, 0xfe, 0x7b, 0x0a])]);
    await writeFile(join(dir, 'calendar.json'), garbage);

    const host = await startHost(dir);
    const aside = (await readdir(dir)).filter((f) => /^calendar\.json\.unreadable-\d+$/.test(f));
    expect(aside).toHaveLength(1);
    expect((await readFile(join(dir, aside[0]!))).equals(garbage)).toBe(true);
    const said = host.stderr().split('\n').filter((l) => l.startsWith('error') && l.includes(join(dir, 'calendar.json ')));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(join(dir, aside[0]!));

    // A working, empty calendar in a fresh calendar.json.
    expect((await listEvents(host.base)).size).toBe(0);
    const res = await call(host.base, 'POST', '/events', eventBody('after-repair'));
    expect(res.json).toMatchObject({ action: 'inserted' });
    host.child.kill('SIGTERM');
    expect((await within(host.closed, 15_000, 'the host to stop')).code).toBe(0);
    const snapshot = JSON.parse(await readFile(join(dir, 'calendar.json'), 'utf8'));
    expect(snapshot.collections.events).toEqual([{ ...eventBody('after-repair'), id: res.json.tid }]);
  });
});

describe('crash: two people deleting the same event', () => {
  // The second of two concurrent deletes finds the event already gone from memory. Its
  // "deleted" is an acknowledgement too, so it must not come before the first one is saved.
  it('a delete answered while another delete of the same event is being saved stays deleted after a kill', async () => {
    const dir = await tempDir();
    const host = await startHost(dir);
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await call(host.base, 'POST', '/events', eventBody(`pair-${i}`));
        expect(res.json).toMatchObject({ action: 'inserted' });
        return res.json.tid as string;
      }),
    );
    // Writers fill the journal up to a compaction. While the host rewrites calendar.json
    // (large records make that take a while), the deletes wait for the disk.
    const details = 'd'.repeat(2000);
    let writing = true;
    let acks = 0;
    let nearly!: () => void;
    const nearCompaction = new Promise<void>((resolve) => (nearly = resolve));
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let n = 0; writing; n++) {
        const res = await call(host.base, 'POST', '/events', { ...eventBody(`load-${w}-${n}`), details }).catch(() => null);
        if (!res) return;
        expect(res.json).toMatchObject({ action: 'inserted' });
        if (++acks === COMPACT_EVERY - 500) nearly();
      }
    });
    await within(nearCompaction, 30_000, 'the journal to fill up');
    const watching = nextChangeOf(dir, 'calendar.json.tmp');
    try {
      await within(watching.seen, 20_000, `a compaction (every ${COMPACT_EVERY} journal lines) to write calendar.json.tmp`);
    } finally {
      watching.close();
    }
    writing = false;

    const deleted = new Set<string>();
    const firstAnswered = new Set<string>();
    let killNow!: () => void;
    const raced = new Promise<void>((resolve) => (killNow = resolve));
    const remove = (id: string) =>
      call(host.base, 'DELETE', `/events/${id}`).then(
        (res) => {
          if (res.json?.action === 'deleted') deleted.add(id);
          return true;
        },
        () => false,
      );
    const firsts = ids.map((id) => remove(id).then((ok) => ok && firstAnswered.add(id)));
    await new Promise((resolve) => setImmediate(resolve));
    let races = 0;
    const seconds = ids.map((id) =>
      remove(id).then((ok) => {
        if (ok && !firstAnswered.has(id)) {
          races++;
          // Killed at once, before the first delete can reach the disk.
          host.child.kill('SIGKILL');
          killNow();
        }
      }),
    );
    await within(Promise.race([raced, Promise.all([...firsts, ...seconds])]), 20_000, 'the deletes');
    host.child.kill('SIGKILL');
    await within(host.closed, 10_000, 'the killed host to exit');
    await within(Promise.all([...firsts, ...seconds, ...writers]), 20_000, 'the requests to settle');

    const after = await startHost(dir);
    await expectCleanStart(after, dir);
    const found = await listEvents(after.base);
    const undone = [...deleted].filter((id) => found.has(id));
    expect(undone, `${races} deletes answered before the other delete of the same event`).toEqual([]);
  }, 45_000);
});
