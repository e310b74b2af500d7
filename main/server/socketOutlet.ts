import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import type { Logger } from '../log.js';

// ws exports its frame builder (`Sender.frame`), though its typings leave it out.
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** A text frame for `payload`, built once for every client that gets it. */
export const frameText = (payload: Buffer): Buffer =>
  Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));

/** Whole text frames, one or more, ready to write; and their payloads, for when they must go through `ws.send`. */
export interface Chunk {
  frames: Buffer;
  payloads: Buffer[];
}

/**
 * Writes ready-made text frames straight to the client's TCP socket. This is what ws itself
 * does for an uncompressed message (compression is off here, so its sender never queues),
 * minus framing the same message again for every client, and with several frames in one write.
 * Falls back to `send`, one message at a time, otherwise.
 */
function sendFramed(ws: WebSocket, chunk: Chunk) {
  const inner = ws as unknown as { _socket?: Socket; _sender?: { _queue?: unknown[] } };
  if (inner._socket && inner._sender?._queue?.length === 0) inner._socket.write(chunk.frames);
  else for (const payload of chunk.payloads) ws.send(payload, { binary: false });
}

export interface OutletStats {
  clients: number;
  /** Unsent bytes held for all clients now, and for the one with the most. */
  bufferedBytes: number;
  maxClientBufferedBytes: number;
  /** The most one client ever held right after a write: never more than the cap (or one message). */
  peakClientBufferedBytes: number;
  droppedSlow: number;
}

/**
 * Every write to a client goes through `deliver`: one that would take its unsent data past the
 * cap drops the client instead, so it is never fed part of the stream and never grows the host's
 * memory. (A single message larger than the cap still goes to a client with nothing unsent.)
 */
export function createOutlet<C extends { ws: WebSocket }>(o: { maxBufferedBytes: number; log: Logger; onDropped(client: C): void }) {
  let droppedSlow = 0;
  let peak = 0;
  const dropSlow = (client: C) => {
    droppedSlow++;
    o.log.warn('dropped a client that could not keep up');
    client.ws.terminate();
    o.onDropped(client);
  };
  const deliverChunk = (client: C, chunk: Chunk): boolean => {
    const { ws } = client;
    if (ws.readyState !== WebSocket.OPEN) return false;
    const unsent = ws.bufferedAmount;
    if (unsent > 0 && unsent + chunk.frames.length > o.maxBufferedBytes) {
      dropSlow(client);
      return false;
    }
    sendFramed(ws, chunk);
    const after = ws.bufferedAmount;
    if (after > peak) peak = after;
    return true;
  };
  return {
    dropSlow,
    /** One message, framed here unless it comes framed. */
    deliver(client: C, payload: Buffer, frame?: Buffer): boolean {
      return deliverChunk(client, { frames: frame ?? frameText(payload), payloads: [payload] });
    },
    deliverChunk,
    /** Over the cap already (a ping on top of a full buffer): for the heartbeat. */
    full: (client: C) => client.ws.bufferedAmount >= o.maxBufferedBytes,
    stats(clients: Set<C>): OutletStats {
      let bufferedBytes = 0;
      let maxClientBufferedBytes = 0;
      for (const client of clients) {
        bufferedBytes += client.ws.bufferedAmount;
        maxClientBufferedBytes = Math.max(maxClientBufferedBytes, client.ws.bufferedAmount);
      }
      return { clients: clients.size, bufferedBytes, maxClientBufferedBytes, peakClientBufferedBytes: peak, droppedSlow };
    },
  };
}
