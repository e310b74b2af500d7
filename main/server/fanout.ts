import type { Chunk } from './socketOutlet.js';

/**
 * Batched fan-out. One socket write of one small message costs several microseconds of host CPU,
 * mostly the kernel's; a write of several messages costs little more. So a message after a quiet
 * spell goes out at once (at the end of the current turn, with whatever else that turn published),
 * and later ones wait until `windowMs` after the previous batch, to share its writes.
 *
 * A batch is complete protocol frames, one per message, concatenated: every client still reads
 * one `{action, body}` per frame, in the order published. The bytes are built once per set of
 * channels and shared by every subscriber with that set, cut at frame boundaries into chunks of
 * about `chunkBytes`, so the outlet's cap check sees bounded pieces and a slow client is dropped
 * between frames, never in the middle of one.
 */
export interface FanoutOptions<C> {
  windowMs: number;
  /** The clients subscribed to a channel now. */
  subscribersOf(channel: string): ReadonlySet<C> | undefined;
  /** Whether a client is subscribed to a channel now. */
  subscribed(client: C, channel: string): boolean;
  /** Writes one chunk to one client within its cap; false once the client is gone or dropped. */
  deliver(client: C, chunk: Chunk): boolean;
  /** A pending batch this large goes out at once instead of waiting for the window. */
  flushBytes?: number;
  chunkBytes?: number;
  now?: () => number;
}

interface Pending {
  channel: string;
  frame: Buffer;
  payload: Buffer;
}

export interface Fanout {
  /** Queues one framed message for the channel's subscribers. */
  publish(channel: string, payload: Buffer, frame: Buffer): void;
  /** Sends what is queued for `channel` now (a client about to subscribe must not get what was published before). */
  flushChannel(channel: string): void;
  /** Sends everything queued now and stops the timer; later messages are dropped (the sockets are closing). */
  close(): void;
}

export function createFanout<C>(o: FanoutOptions<C>): Fanout {
  const now = o.now ?? (() => performance.now());
  const flushBytes = o.flushBytes ?? 64 * 1024;
  const chunkBytes = o.chunkBytes ?? 64 * 1024;
  let pending: Pending[] = [];
  let pendingBytes = 0;
  const pendingChannels = new Set<string>();
  let lastFlush = -Infinity;
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let closed = false;

  const cancel = () => {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = null;
    immediate = null;
  };

  const flush = () => {
    cancel();
    if (pending.length === 0) return;
    const batch = pending;
    const channels = [...pendingChannels];
    pending = [];
    pendingBytes = 0;
    pendingChannels.clear();
    lastFlush = now();
    if (channels.length === 1) sendShared(batch, channels[0]!);
    else sendMixed(batch, channels);
  };

  /** One channel: every subscriber gets the same chunks. */
  const sendShared = (batch: Pending[], channel: string) => {
    const set = o.subscribersOf(channel);
    if (!set || set.size === 0) return;
    const chunks = chunked(batch, chunkBytes);
    // A copy: a client dropped for being slow leaves the set while it is walked.
    for (const client of [...set]) for (const chunk of chunks) if (!o.deliver(client, chunk)) break;
  };

  /**
   * Several channels: each client gets the frames of the channels it is subscribed to, in the
   * order they were published (a page skips a revision older than one it has seen), so clients
   * are grouped by that set of channels and each group shares its chunks.
   */
  const sendMixed = (batch: Pending[], channels: string[]) => {
    const clients = new Set<C>();
    for (const channel of channels) for (const client of o.subscribersOf(channel) ?? []) clients.add(client);
    const byMask = new Map<string, Chunk[]>();
    for (const client of clients) {
      const mask = channels.map((channel) => (o.subscribed(client, channel) ? '1' : '0')).join('');
      let chunks = byMask.get(mask);
      if (!chunks) {
        const wanted = new Set(channels.filter((_, i) => mask[i] === '1'));
        byMask.set(mask, (chunks = chunked(batch.filter((p) => wanted.has(p.channel)), chunkBytes)));
      }
      for (const chunk of chunks) if (!o.deliver(client, chunk)) break;
    }
  };

  return {
    publish(channel, payload, frame) {
      if (closed) return;
      pending.push({ channel, frame, payload });
      pendingBytes += frame.length;
      pendingChannels.add(channel);
      if (pendingBytes >= flushBytes) return flush();
      if (timer || immediate) return;
      const wait = lastFlush + o.windowMs - now();
      // After a quiet spell: at the end of this turn, so what else this turn publishes goes along.
      if (wait <= 0) immediate = setImmediate(flush);
      else timer = setTimeout(flush, wait);
    },
    flushChannel(channel) {
      if (pendingChannels.has(channel)) flush();
    },
    close() {
      flush();
      closed = true;
    },
  };
}

/** Frames cut into chunks of about `size` bytes at frame boundaries (a larger frame is a chunk of its own). */
function chunked(batch: Pending[], size: number): Chunk[] {
  const chunks: Chunk[] = [];
  let frames: Buffer[] = [];
  let payloads: Buffer[] = [];
  let bytes = 0;
  const cut = () => {
    if (frames.length === 0) return;
    chunks.push({ frames: frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes), payloads });
    frames = [];
    payloads = [];
    bytes = 0;
  };
  for (const p of batch) {
    if (bytes > 0 && bytes + p.frame.length > size) cut();
    frames.push(p.frame);
    payloads.push(p.payload);
    bytes += p.frame.length;
  }
  cut();
  return chunks;
}
