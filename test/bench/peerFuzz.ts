/**
 * Fuzz of what one desk can send another: random and malformed `push` payloads over a real,
 * proven desk channel (mutual TLS on 127.0.0.1) to a host's hosting role. Passes when the host
 * answers every call (an error result, never a crash or a dropped channel), and a refused push
 * stores nothing. Part of `npm run fuzz`; a short version runs in `npm test`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { silentLogger } from '../../main/log.js';
import type { Channel, DeskInfo } from '../../main/peer/channel.js';
import { defaultTiming, type DeskContext } from '../../main/peer/context.js';
import { openDeskBook } from '../../main/peer/deskBook.js';
import { connectDesk, startDeskServer, type LinkIdentity } from '../../main/peer/deskLink.js';
import { startHosting } from '../../main/peer/hosting.js';
import { formatStamp } from '../../main/store/hlc.js';
import { newRecordId } from '../../main/store/ids.js';
import { createLowStore } from '../../main/store/lowStore.js';
import { loadOrCreateDeskCertificate } from '../../main/trust/certificate.js';
import { calendarSecrets, newCalendarId, newJoinKey } from '../../main/trust/keys.js';
import { fuzz, type FuzzReport, type FuzzTarget } from './fuzzTargets.js';

const now = Date.now();
const stamps = fc.oneof(
  fc.integer({ min: now - 10 * 365 * 86_400_000, max: now + 20_000 }).map((t) => formatStamp(t, 0, 'fuzz')),
  fc.constantFrom(formatStamp(now + 3_600_000, 0, 'ahead'), 'zzzzzzzzzzz-000000-x', 'not-a-stamp', '', formatStamp(now, 0, 'x'.repeat(100))),
  fc.string({ maxLength: 40 }),
);
const texts = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('<b>markup</b>', 'Tea &#38; cake', 'Tom &amp; Jerry', '&#60;ok&#62;', 'x'.repeat(10_001), ''), fc.jsonValue({ maxDepth: 2 }));
const records = fc.record(
  {
    id: fc.oneof(fc.constant(newRecordId()), fc.uuid(), fc.constantFrom('', '../x', '__proto__', 'a'.repeat(200)), fc.jsonValue({ maxDepth: 1 })),
    text: texts,
    name: texts,
    color: fc.oneof(fc.constantFrom('#2563eb', 'red', 'url(javascript:alert(1))', 'expression(x)'), fc.string({ maxLength: 20 })),
    start_date: fc.constantFrom('2026-03-02 10:00', '1850-01-01 00:00', 'soon', '2026-03-02T10:00:00Z'),
    end_date: fc.constantFrom('2026-03-02 11:00', '9999-02-01 00:00', ''),
    rrule: fc.constantFrom('FREQ=DAILY', 'FREQ=SECONDLY', '', 'x'),
    deleted: fc.oneof(fc.boolean(), fc.constant('true')),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['id'] },
);
const changes = fc.record(
  {
    entity: fc.constantFrom('events', 'tasks', 'links', 'calendars', 'settings', 'presence', 'replication', '__proto__', ''),
    op: fc.constantFrom('add', 'update', 'delete', 'drop', ''),
    record: fc.oneof(records, fc.jsonValue({ maxDepth: 2 })),
    hlc: stamps,
  },
  { requiredKeys: [] },
);
/** Changes a desk would really send: a valid event (or its delete), stamped now or a little earlier. */
const sound = fc.record({
  entity: fc.constant('events'),
  op: fc.constantFrom('add', 'update', 'delete'),
  record: fc.record({ id: fc.uuid({ version: 7 }), text: fc.string({ maxLength: 40 }), start_date: fc.constant('2026-03-02 10:00'), end_date: fc.constant('2026-03-02 11:00') }),
  hlc: fc.integer({ min: now - 86_400_000, max: now }).map((t) => formatStamp(t, 0, 'fuzz')),
});
/** What one push carries: well-formed arrays mostly, anything at all sometimes. */
const payloads = fc.oneof(
  fc.record({ changes: fc.array(sound, { minLength: 1, maxLength: 4 }) }),
  fc.record({ changes: fc.array(fc.oneof(changes, sound), { maxLength: 8 }) }),
  fc.record({ changes: fc.jsonValue({ maxDepth: 3 }) }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant({ changes: Array.from({ length: 1001 }, () => ({})) }),
);

/** A host and a desk that proved the key to it, a channel between them, and the fuzz of its pushes. */
export async function runPeerFuzz(runs: number, seed: number): Promise<FuzzReport> {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-peerfuzz-'));
  const key = newJoinKey();
  const calendarId = newCalendarId();
  const store = await createLowStore({ dir: join(dir, 'store'), log: silentLogger });
  const identity = async (name: string): Promise<LinkIdentity> => {
    const cert = await loadOrCreateDeskCertificate(join(dir, name), silentLogger);
    const info = (): DeskInfo => ({ deskId: cert.deskId, name, role: 'host', host: null, addresses: ['127.0.0.1'], deskPort: 1, webPort: 1, revision: 0, inSyncAt: 0 });
    return { cert, calendar: () => ({ id: calendarId, deskSecret: calendarSecrets(key).deskSecret, keyGen: 0 }), info };
  };
  const hostMe = await identity('host');
  const timing = defaultTiming(Date.now);
  const book = await openDeskBook(join(dir, 'store'), hostMe.cert.deskId, silentLogger);
  const ctx: DeskContext = { log: silentLogger, store, me: hostMe, timing, book, connect: async () => null, announce: () => undefined };
  const hosting = startHosting(ctx, { otherHost: () => undefined, requestRekey: async () => undefined, meet: async () => ({ keep: true }), changed: () => undefined });
  const server = await startDeskServer({ port: 0, bind: '127.0.0.1', me: hostMe, timing, log: silentLogger, onChannel: (c) => hosting.accept(c) });
  let channel: Channel | null = null;
  try {
    channel = await connectDesk({ address: '127.0.0.1', port: server.port }, await identity('desk'), timing, silentLogger);
    await channel.call('follow', {});
    const open = channel;
    const target: FuzzTarget<unknown> = {
      name: 'desk push',
      input: payloads,
      async send(payload) {
        try {
          const answer = (await open.call('push', payload, 10_000)) as { applied: number; refused: string[] };
          return { status: 200, body: answer };
        } catch (err) {
          // An error result is a refusal; a channel that closed is the host failing.
          if (/closed/.test((err as Error).message)) return { status: 500, body: { message: (err as Error).message } };
          return { status: 400, body: { message: (err as Error).message } };
        }
      },
      refused: (o) => o.status === 400 || (o.body as { applied?: number }).applied === 0,
    };
    return await fuzz({ port: 0, token: '', store }, target, runs, seed);
  } finally {
    channel?.close('fuzz over');
    hosting.close('fuzz over');
    await server.close();
    await book.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
