import fc from 'fast-check';
import { WebSocket } from 'ws';
import { DISK_FULL } from '../../main/store/errors.js';
import type { Store } from '../../main/store/types.js';
import { exportedChanges } from '../helpers/storeExport.js';
import { createRestClient } from './benchClients.js';

/** What one input got back. */
export interface Outcome {
  status: number;
  body: unknown;
}

/**
 * Something to fuzz: inputs, a way to send one, and which outcomes are refusals (after a refusal
 * nothing may have been stored). A peer route is one more target: its `send` posts to the route.
 */
export interface FuzzTarget<T> {
  name: string;
  input: fc.Arbitrary<T>;
  send(input: T): Promise<Outcome>;
  refused(outcome: Outcome): boolean;
}

export interface FuzzContext {
  port: number;
  token: string;
  store: Store;
}

export interface FuzzReport {
  target: string;
  runs: number;
  refused: number;
  accepted: number;
  /** The first failure, as fast-check reports it (shrunk), or null. */
  failure: string | null;
}

/** A request with any body and content type over a kept-alive connection; answers status and (parsed) body. */
export function rawClient(port: number, token: string) {
  const client = createRestClient(port, token, 4);
  return {
    async send(method: string, path: string, body?: string | Buffer, type?: string): Promise<Outcome> {
      const { status, text } = await client.send(method, path, body, type);
      try {
        return { status, body: JSON.parse(text) };
      } catch {
        // not JSON: kept as text, so the check can show it
        return { status, body: text };
      }
    },
    close: () => client.close(),
  };
}

/** Everything a store holds, as one comparable string. */
const fingerprint = (store: Store) => `${store.revision()}:${JSON.stringify(exportedChanges(store))}`;

/**
 * Runs one target for `runs` inputs. Every answer must be below 500 (a 507 only for a full disk,
 * in its words), and a refused input must leave the store exactly as it was.
 */
export async function fuzz<T>(ctx: FuzzContext, target: FuzzTarget<T>, runs: number, seed?: number): Promise<FuzzReport> {
  let refused = 0;
  let accepted = 0;
  const property = fc.asyncProperty(target.input, async (input) => {
    const before = fingerprint(ctx.store);
    const outcome = await target.send(input);
    const message = (outcome.body as { message?: unknown } | null)?.message;
    if (outcome.status >= 500 && !(outcome.status === 507 && message === DISK_FULL)) {
      throw new Error(`${target.name} answered ${outcome.status} ${JSON.stringify(outcome.body).slice(0, 300)}`);
    }
    if (target.refused(outcome)) {
      refused++;
      if (fingerprint(ctx.store) !== before) throw new Error(`${target.name}: refused (${outcome.status}) but the store changed`);
    } else accepted++;
  });
  try {
    await fc.assert(property, { numRuns: runs, seed, endOnFailure: false });
    return { target: target.name, runs, refused, accepted, failure: null };
  } catch (err) {
    return { target: target.name, runs, refused, accepted, failure: (err as Error).message.slice(0, 2000) };
  }
}

// ---- REST bodies ----------------------------------------------------------------------------

export interface RestInput {
  method: string;
  path: string;
  body?: string;
  type?: string;
}

const dates = fc.oneof(
  fc.constantFrom('2026-03-02 10:00', '2026-03-02 11:00', '2026-03-02', '9999-02-01 00:00', '1899-12-31 23:59', '2026-02-30 10:00', '', 'not a date', '2026-03-02T10:00:00Z'),
  fc.date({ min: new Date(1800, 0, 1), max: new Date(10000, 0, 1), noInvalidDate: true }).map((d) => d.toISOString().replace('T', ' ').slice(0, 16)),
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 200 }), dates);
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', '', 'toString', 'x'.repeat(100), '!action');
/** Event-shaped bodies with fields of any type: most refused, some stored. */
const eventish = fc.record(
  {
    text: fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.constant('<img src=x onerror=alert(1)>'), fc.constant('&'.repeat(3000)), anyValue),
    start_date: dates,
    end_date: dates,
    rrule: fc.oneof(fc.constantFrom('FREQ=DAILY', 'FREQ=WEEKLY;INTERVAL=2;COUNT=5', 'FREQ=SECONDLY', 'FREQ=DAILY;COUNT=100000', 'garbage', ''), anyValue),
    calendar_id: anyValue,
    recurring_event_id: anyValue,
    deleted: anyValue,
    extra: anyValue,
  },
  { requiredKeys: [] },
);
const withHostileKeys = fc.tuple(eventish, hostileKey, anyValue).map(([e, k, v]) => `{${JSON.stringify(e).slice(1, -1)}${Object.keys(e).length ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}}`);
const bodies = fc.oneof(
  eventish.map((e) => JSON.stringify(e)),
  withHostileKeys,
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.constantFrom('{', '{"text":', 'null', '[]', '"string"', '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', `{"text":"${'x'.repeat(70 * 1024)}"}`),
  fc.array(eventish, { maxLength: 5 }).map((a) => JSON.stringify(a)),
);

/** Random and malformed REST requests against every route a page can write to or read. */
export function restTarget(ctx: FuzzContext, client = rawClient(ctx.port, ctx.token)): FuzzTarget<RestInput> & { close(): void } {
  const someId = () => ctx.store.list('events')[0]?.id ?? 'none';
  const id = fc.oneof(fc.constant('$existing'), fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('..%2F..%2Fetc', '%00', '__proto__'));
  const collection = fc.constantFrom('/events', '/gantt/task', '/gantt/link', '/calendars');
  const write = fc.record({
    method: fc.constantFrom('POST', 'PUT', 'DELETE'),
    path: fc.tuple(collection, id, fc.boolean()).map(([c, i, withId]) => (withId ? `${c}/${i}` : c)),
    body: fc.option(bodies, { nil: undefined }),
    type: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', 'application/json; charset=latin1'),
  });
  const read = fc.record({
    method: fc.constant('GET'),
    path: fc.oneof(
      fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `/api/v1/changes?since=${encodeURIComponent(a)}&store=${encodeURIComponent(b)}`),
      fc.tuple(dates, dates).map(([a, b]) => `/events?from=${encodeURIComponent(a)}&to=${encodeURIComponent(b)}`),
      fc.constantFrom('/gantt/data', '/calendars', '/api/v1'),
    ),
  });
  const calls = fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/api/v1'),
    body: fc.array(fc.record({ id: anyValue, name: fc.oneof(fc.constantFrom('sync.changes', 'sync.revision', 'toString', '__proto__'), fc.string()), args: fc.array(anyValue, { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 8 }).map((a) => JSON.stringify(a)),
    type: fc.constant('application/json'),
  });
  return {
    name: 'rest',
    input: fc.oneof({ weight: 6, arbitrary: write }, { weight: 1, arbitrary: read }, { weight: 1, arbitrary: calls }),
    send: (input) => client.send(input.method, input.path.replace('$existing', someId()), input.body, input.type),
    refused: (outcome) => outcome.status >= 400,
    close: () => client.close(),
  };
}

// ---- socket frames --------------------------------------------------------------------------

export type Frame = { text: string } | { binary: Uint8Array };

/**
 * Random and malformed socket frames. Frames never write, so every one counts as refused: the
 * store must not change. After each, a call proves the frame was handled and the socket lives;
 * a frame that closes the socket (binary, oversized) is followed by a new one.
 */
export function socketTarget(ctx: FuzzContext, key: string): FuzzTarget<Frame> & { close(): void } {
  const url = `ws://127.0.0.1:${ctx.port}/api/v1?token=${encodeURIComponent(key)}&ws=1`;
  let ws: WebSocket | null = null;
  let seq = 0;
  let pending: { id: string; resolve(o: Outcome): void } | null = null;
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.on('error', reject);
      socket.on('close', (code) => {
        if (ws === socket) ws = null;
        pending?.resolve({ status: 0, body: { closed: code } });
        pending = null;
      });
      socket.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.action === 'start') resolve(socket);
        if (msg.action === 'result' && pending && msg.body?.[0]?.id === pending.id) {
          pending.resolve({ status: 0, body: msg.body[0].data });
          pending = null;
        }
      });
    });
  const frameText = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          action: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'call', 'event', 'start', '__proto__'), fc.string({ maxLength: 10 })),
          name: fc.oneof(fc.constantFrom('events', 'tasks', 'replication', '../x', ''), fc.string({ maxLength: 70 }), anyValue),
          key: anyValue,
          body: fc.oneof(
            anyValue,
            fc.array(fc.record({ id: anyValue, name: fc.oneof(fc.constantFrom('sync.changes', 'sync.revision', 'constructor'), fc.string({ maxLength: 20 })), args: fc.array(anyValue, { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 70 }),
          ),
        },
        { requiredKeys: [] },
      )
      .map((f) => JSON.stringify(f)),
    fc.constant('x'.repeat(70 * 1024)),
  );
  return {
    name: 'socket',
    input: fc.oneof({ weight: 20, arbitrary: frameText.map((text) => ({ text })) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((binary) => ({ binary })) }),
    async send(frame) {
      ws ??= await open();
      const socket = ws;
      const id = `probe-${seq++}`;
      const answered = new Promise<Outcome>((resolve) => (pending = { id, resolve }));
      if ('text' in frame) socket.send(frame.text);
      else socket.send(frame.binary, { binary: true });
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: 'call', body: [{ id, name: 'sync.revision', args: [] }] }));
      return answered;
    },
    refused: () => true,
    close: () => ws?.terminate(),
  };
}
