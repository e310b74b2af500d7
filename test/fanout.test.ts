// The batching of live messages: when a batch goes out, what it holds, who shares it, and in what order.
import { describe, expect, it } from 'vitest';
import { createFanout, type FanoutOptions } from '../main/server/fanout.js';
import type { Chunk } from '../main/server/socketOutlet.js';

interface FakeClient {
  name: string;
  channels: Set<string>;
  got: Chunk[];
  /** Refuses chunks from this one on (as the outlet does for a client over its cap). */
  refuseFrom?: number;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A fan-out over plain client objects; frames are the message text itself, so what arrives can be read back. */
function setup(clients: FakeClient[], over: Partial<FanoutOptions<FakeClient>> = {}) {
  let clock = 0;
  const fanout = createFanout<FakeClient>({
    windowMs: 50,
    subscribersOf: (channel) => new Set(clients.filter((c) => c.channels.has(channel))),
    subscribed: (client, channel) => client.channels.has(channel),
    deliver(client, chunk) {
      if (client.refuseFrom !== undefined && client.got.length >= client.refuseFrom) return false;
      client.got.push(chunk);
      return true;
    },
    now: () => clock,
    ...over,
  });
  const publish = (channel: string, text: string) => fanout.publish(channel, Buffer.from(text), Buffer.from(`${text};`));
  return { fanout, publish, advance: (ms: number) => (clock += ms) };
}
const client = (name: string, ...channels: string[]): FakeClient => ({ name, channels: new Set(channels), got: [] });
const texts = (c: FakeClient) => c.got.map((chunk) => chunk.frames.toString());
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('fan-out batches', () => {
  it('sends the first message after a quiet spell at the end of its turn, and what follows within the window as one batch', async () => {
    const a = client('a', 'events');
    const { publish, advance } = setup([a]);
    publish('events', 'm1');
    publish('events', 'm2'); // the same turn: goes along
    expect(texts(a)).toEqual([]);
    await turn();
    expect(texts(a)).toEqual(['m1;m2;']);
    advance(1);
    publish('events', 'm3');
    await turn();
    publish('events', 'm4');
    await turn();
    // Within the window of the last batch: they wait for it, and then share one write.
    expect(texts(a)).toEqual(['m1;m2;']);
    await until(() => a.got.length === 2);
    expect(texts(a)).toEqual(['m1;m2;', 'm3;m4;']);
    // A quiet spell longer than the window: at once again.
    advance(100);
    publish('events', 'm5');
    await turn();
    expect(texts(a)).toEqual(['m1;m2;', 'm3;m4;', 'm5;']);
  });

  it('builds one set of bytes per channel and hands the same buffers to every subscriber', async () => {
    const [a, b, other] = [client('a', 'events'), client('b', 'events'), client('c', 'tasks')];
    const { publish } = setup([a, b, other]);
    publish('events', 'e1');
    publish('events', 'e2');
    await turn();
    expect(texts(a)).toEqual(['e1;e2;']);
    expect(a.got[0]!.frames).toBe(b.got[0]!.frames);
    expect(a.got[0]!.payloads.map(String)).toEqual(['e1', 'e2']);
    expect(other.got).toEqual([]);
  });

  it('keeps the order of publishing across channels for each client, and gives each only its channels', async () => {
    const both = client('both', 'events', 'calendars');
    const events = client('events', 'events');
    const calendars = client('calendars', 'calendars');
    const twin = client('twin', 'calendars', 'events');
    const { publish } = setup([both, events, calendars, twin]);
    publish('events', 'e1');
    publish('calendars', 'c1');
    publish('events', 'e2');
    publish('calendars', 'c2');
    await turn();
    expect(texts(both)).toEqual(['e1;c1;e2;c2;']);
    expect(texts(events)).toEqual(['e1;e2;']);
    expect(texts(calendars)).toEqual(['c1;c2;']);
    // Clients with the same channels share the bytes.
    expect(twin.got[0]!.frames).toBe(both.got[0]!.frames);
  });

  it('cuts a large batch into chunks at frame boundaries, and a client refused one chunk gets nothing after it', async () => {
    const slow = { ...client('slow', 'events'), refuseFrom: 1 };
    const fast = client('fast', 'events');
    const { publish } = setup([slow, fast], { chunkBytes: 12, flushBytes: 1000 });
    for (const text of ['m1', 'm2', 'm3', 'm4', 'm5']) publish('events', text);
    await turn();
    expect(texts(fast)).toEqual(['m1;m2;m3;m4;', 'm5;']);
    expect(texts(slow)).toEqual(['m1;m2;m3;m4;']);
  });

  it('sends at once when what waits grows past flushBytes', async () => {
    const a = client('a', 'events');
    const { publish } = setup([a], { flushBytes: 9 });
    publish('events', 'm1');
    publish('events', 'm2');
    expect(texts(a)).toEqual([]);
    publish('events', 'm3');
    expect(texts(a)).toEqual(['m1;m2;m3;']);
  });

  it('sends what waits for a channel before someone subscribes to it, so a new subscriber never gets older messages', async () => {
    const old = client('old', 'events');
    const late = client('late');
    const { fanout, publish } = setup([old, late]);
    publish('events', 'm1');
    await turn();
    publish('events', 'm2'); // waits for the window
    fanout.flushChannel('tasks'); // another channel: nothing to do
    expect(texts(old)).toEqual(['m1;']);
    fanout.flushChannel('events');
    late.channels.add('events');
    expect(texts(old)).toEqual(['m1;', 'm2;']);
    publish('events', 'm3');
    fanout.close();
    expect(texts(late)).toEqual(['m3;']);
  });

  it('sends what is pending on close, and nothing after', async () => {
    const a = client('a', 'events');
    const { fanout, publish } = setup([a]);
    publish('events', 'm1');
    fanout.close();
    expect(texts(a)).toEqual(['m1;']);
    publish('events', 'm2');
    // Had it been queued, either of these would send it.
    fanout.flushChannel('events');
    fanout.close();
    await turn();
    expect(texts(a)).toEqual(['m1;']);
  });
});
