import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import type { Logger } from '../log.js';

// ws exports its frame builder (`Sender.frame`), though its typings leave it out.
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** A text frame for `payload`, built once for every client that gets it. */
export const frameText = (payload: Buffer): Buffer =>
  Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));

/**
 * Writes a ready-made text frame straight to the client's TCP socket. This is what ws itself
 * does for an uncompressed message (compression is off here, so its sender never queues),
 * minus framing the same message again for every client. Falls back to `send` otherwise.
 */
function sendFramed(ws: WebSocket, frame: Buffer, payload: Buffer) {
  const inner = ws as unknown as { _socket?: Socket; _sender?: { _queue?: unknown[] } };
  if (inner._socket && inner._sender?._queue?.length === 0) inner._socket.write(frame);
  else ws.send(payload, { binary: false });
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
  return {
    dropSlow,
    deliver(client: C, payload: Buffer, frame?: Buffer): boolean {
      const { ws } = client;
      if (ws.readyState !== WebSocket.OPEN) return false;
      const unsent = ws.bufferedAmount;
      if (unsent > 0 && unsent + (frame?.length ?? payload.length + 14) > o.maxBufferedBytes) {
        dropSlow(client);
        return false;
      }
      if (frame) sendFramed(ws, frame, payload);
      else ws.send(payload, { binary: false });
      peak = Math.max(peak, ws.bufferedAmount);
      return true;
    },
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
