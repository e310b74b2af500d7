import { watch } from 'node:fs';
import { within, type Exit, type ReadyHost } from './hostProcess.js';

export const WRITERS = 16;

export const eventBody = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });

/** Rejects when the host does not answer, which the storm expects once it has killed the host. */
export type Call = (base: string, method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;

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
export class Ledger {
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

export interface StormResult {
  acks: number;
  /** Requests sent and not yet answered when the kill was sent. */
  inFlightAtKill: number;
  /** Answers other than an acknowledgement while the host was alive: each is a defect. */
  failures: string[];
  exit: Exit;
}

/** Resolves when the storm has gone far enough to kill the host. */
export type KillWhen = (acks: { reached(n: number): Promise<void> }) => Promise<unknown>;

/**
 * Runs WRITERS concurrent writers against the host (creates, updates and deletes of
 * their own acknowledged events) until `killWhen` resolves, then SIGKILLs the host with
 * requests in flight and waits for every writer to stop.
 */
export async function stormAndKill(storm: {
  host: ReadyHost;
  call: Call;
  ledger: Ledger;
  tag: string;
  killWhen: KillWhen;
}): Promise<StormResult> {
  const { host, call, ledger, tag, killWhen } = storm;
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

  /** The acknowledgement, or null when the writer must stop: the host is gone, or it answered wrongly. */
  const write = async (what: string, method: string, path: string, body: unknown, isAck: (json: any) => boolean) => {
    const res = await send(method, path, body);
    if (!res) return null;
    if (res.status !== 200 || !isAck(res.json)) {
      failures.push(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
      return null;
    }
    return res.json;
  };

  const writer = async (w: number) => {
    const mine = owned[w]!;
    for (let n = 0; !killed; n++) {
      const text = `${tag}-w${w}-${n}`;
      const kind = n % 10;
      if (mine.length < 4 || kind < 6) {
        ledger.unansweredCreates.add(text);
        const isAck = (json: any) => json?.action === 'inserted' && typeof json.tid === 'string';
        const ack = await write(`POST ${text}`, 'POST', '/events', eventBody(text), isAck);
        if (!ack) return;
        ledger.unansweredCreates.delete(text);
        ledger.events.set(ack.tid, { acked: text });
        mine.push(ack.tid);
      } else if (kind < 9) {
        const id = mine[(n * 7) % mine.length]!;
        ledger.events.get(id)!.unanswered = text;
        if (!(await write(`PUT ${id}`, 'PUT', `/events/${id}`, eventBody(text), (json) => json?.action === 'updated'))) return;
        ledger.events.set(id, { acked: text });
      } else {
        const id = mine.splice((n * 13) % mine.length, 1)[0]!;
        ledger.events.get(id)!.unanswered = null;
        if (!(await write(`DELETE ${id}`, 'DELETE', `/events/${id}`, undefined, (json) => json?.action === 'deleted'))) return;
        ledger.events.set(id, { acked: null });
      }
      acked();
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
export function nextChangeOf(dir: string, name: string): { seen: Promise<void>; close(): void } {
  const watcher = watch(dir);
  const seen = new Promise<void>((resolve, reject) => {
    watcher.on('change', (_type, file) => file === name && resolve());
    watcher.on('error', reject);
  });
  return { seen, close: () => watcher.close() };
}
