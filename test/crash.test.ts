import { watch } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostProcesses, request, requireBuiltCli, within, type ReadyHost } from './helpers/hostProcess.js';
import { eventBody, Ledger, stormAndKill, WRITERS, type KillWhen } from './helpers/writeStorm.js';

// Crash safety of the built headless host: SIGKILL it mid-storm, restart it on the same
// folder, and check that every acknowledged write is there in its acknowledged state.
// A SIGKILL keeps what the process handed to the kernel, so this proves the order of
// writes and the recovery, not the fsyncs (that would take pulling the power).

const TOKEN = 'crash-test-token-0123';
/** The store's default: journal lines after which it rewrites calendar.json and empties the journal. */
const COMPACT_EVERY = 5000;

const hosts = hostProcesses('lansched-crash-');

/** The snapshot's temp file: calendar.json.tmp-<random>, written and renamed over calendar.json. */
const SNAPSHOT_TEMP = 'calendar.json.tmp-';

/** Resolves on the first change in `dir` to a file whose name is `name` (or starts with it, for a temp file). */
function nextChangeOf(dir: string, name: string): { seen: Promise<void>; close(): void } {
  const watcher = watch(dir);
  const seen = new Promise<void>((resolve, reject) => {
    watcher.on('change', (_type, file) => {
      if (file === name || (name.endsWith('-') && String(file).startsWith(name))) resolve();
    });
    watcher.on('error', reject);
  });
  return { seen, close: () => watcher.close() };
}

const startHost = (dir: string) =>
  hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', TOKEN], 20_000, `the host on ${dir} to be ready`);

// Every answer here must be JSON: one that is not fails the call, as a dropped connection does.
async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(base, method, path, TOKEN, body, 15_000);
  return { status: res.status, json: JSON.parse(res.text) };
}

/** Every event on the host, id → text. */
async function listEvents(base: string): Promise<Map<string, string>> {
  const res = await call(base, 'GET', '/events');
  expect(res.status).toBe(200);
  return new Map((res.json as { id: string; text: string }[]).map((e) => [e.id, e.text]));
}

/** What the folder looks like after a start: no file set aside, no error from the store. */
async function expectCleanStart(host: ReadyHost, dir: string) {
  expect(host.stderr().split('\n').filter((l) => l.startsWith('error'))).toEqual([]);
  expect((await readdir(dir)).filter((f) => f.includes('unreadable'))).toEqual([]);
}

beforeAll(requireBuiltCli);
afterEach(hosts.killLeftovers);
afterAll(hosts.cleanup);

describe('crash: SIGKILL during a write storm, three times on one folder', () => {
  const ledger = new Ledger();
  let dir: string;
  let total = 0;
  beforeAll(async () => {
    dir = await hosts.tempDir();
  });

  /** Restarts the host and checks every acknowledged write; answers the running host. */
  const restartAndCheck = async () => {
    const host = await startHost(dir);
    await expectCleanStart(host, dir);
    expect(ledger.check(await listEvents(host.base))).toEqual([]);
    return host;
  };

  const round = async (tag: string, killWhen: KillWhen) => {
    const host = await startHost(dir);
    await expectCleanStart(host, dir);
    const result = await stormAndKill({ host, call, ledger, tag, killWhen });
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

  /** A round killed when the storm's compaction writes `file`. */
  const roundKilledOn = async (tag: string, file: string) => {
    let watching: ReturnType<typeof nextChangeOf> | undefined;
    try {
      await round(tag, async ({ reached }) => {
        // Started hosts write a snapshot too; only watch once the storm is near the compaction.
        await reached(COMPACT_EVERY - 1000);
        watching = nextChangeOf(dir, file);
        await within(watching.seen, 20_000, `a compaction (every ${COMPACT_EVERY} journal lines) to write ${file}`);
      });
    } finally {
      watching?.close();
    }
  };

  it('round 2: killed while the journal is being folded into a new calendar.json', async () => {
    await roundKilledOn('r2', SNAPSHOT_TEMP);
  }, 50_000);

  it('round 3: killed just as the new calendar.json replaces the old one', async () => {
    await roundKilledOn('r3', 'calendar.json');
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
    const dir = await hosts.tempDir();
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

describe('crash: a journal damaged in the middle', () => {
  it('refuses to start, names the file and the line, and sets the journal aside untouched', async () => {
    const dir = await hosts.tempDir();
    const host = await startHost(dir);
    for (let i = 0; i < 5; i++) expect((await call(host.base, 'POST', '/events', eventBody(`e${i}`))).json).toMatchObject({ action: 'inserted' });
    host.child.kill('SIGKILL');
    await within(host.closed, 10_000, 'the killed host to exit');
    const journal = join(dir, 'changes.jsonl');
    const lines = (await readFile(journal, 'utf8')).split('\n');
    lines[2] = lines[2]!.slice(0, 30) + '\u0000garbage';
    const damaged = lines.join('\n');
    await writeFile(journal, damaged);

    const run = hosts.run(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', TOKEN]);
    const exit = await within(run.closed, 20_000, 'the host to refuse to start');
    expect(exit.code).not.toBe(0);
    expect(run.stdout()).not.toMatch(/host ready/);
    expect(run.stderr()).toContain(`${journal} is damaged at line 3 (not JSON)`);
    const aside = (await readdir(dir)).filter((f) => f.startsWith('changes.jsonl.damaged-'));
    expect(aside).toHaveLength(1);
    expect(run.stderr()).toContain(join(dir, aside[0]!));
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toBe(damaged);
  });
});

describe('crash: two people deleting the same event', () => {
  // The second of two concurrent deletes finds the event already gone from memory. Its
  // "deleted" is an acknowledgement too, so it must not come before the first one is saved.
  it('a delete answered while another delete of the same event is being saved stays deleted after a kill', async () => {
    const dir = await hosts.tempDir();
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
    const watching = nextChangeOf(dir, SNAPSHOT_TEMP);
    try {
      await within(watching.seen, 20_000, `a compaction (every ${COMPACT_EVERY} journal lines) to write its temp file`);
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
