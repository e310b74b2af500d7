import { WebSocket } from 'ws';
import type { RestClient } from './benchClients.js';
import { eventBody } from './benchHost.js';

/** What the followers saw, summed over all of them. */
export interface DeliveryCounts {
  /** Live messages and caught-up changes applied. */
  applied: number;
  /** A revision that never arrived: live while connected, or by catch-up after a reconnect. */
  lost: number;
  /** The same revision twice on one connection, or out of order. */
  doubled: number;
  /** Catch-ups that were told to reload instead (the log did not reach back). */
  reloads: number;
  catchUps: number;
  /** Catch-up pages beyond the first. */
  extraPages: number;
  reconnects: number;
  /** Sockets that closed without being asked to (the host dropped them). */
  unexpectedCloses: number;
}

export const noDeliveries = (): DeliveryCounts => ({ applied: 0, lost: 0, doubled: 0, reloads: 0, catchUps: 0, extraPages: 0, reconnects: 0, unexpectedCloses: 0 });

/**
 * A page's view of the live stream, as renderer/liveSync.ts keeps it: the highest revision it
 * holds without a gap. On every connection it subscribes, then catches up page by page from that
 * revision over the same socket, then applies what came live meanwhile; every revision must come
 * exactly once and in order.
 */
export function createFollower(url: string, storeId: string, from: number, counts: DeliveryCounts) {
  let have = from;
  let ws: WebSocket | null = null;
  let live = false;
  let buffered: number[] = [];
  let lastLive = 0;
  let closed = false;

  const take = (rev: number) => {
    if (rev <= have) return; // already held: catch-up and live overlap by design
    if (rev !== have + 1) counts.lost += rev - have - 1;
    have = rev;
    counts.applied++;
  };
  const ask = (socket: WebSocket) =>
    socket.send(JSON.stringify({ action: 'call', body: [{ id: 'c', name: 'sync.changes', args: [have, storeId] }] }));

  const connect = () => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    ws = socket;
    live = false;
    buffered = [];
    lastLive = 0;
    let asking = false;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (ws !== socket || closed) return;
      counts.unexpectedCloses++;
      counts.reconnects++;
      connect();
    });
    socket.on('message', (data) => {
      if (ws !== socket) return;
      const msg = JSON.parse(data.toString());
      if (msg.action === 'start') {
        socket.send(JSON.stringify({ action: 'subscribe', name: 'events' }));
        counts.catchUps++;
        asking = true;
        ask(socket);
      } else if (msg.action === 'event' && msg.body?.name === 'events') {
        const rev = msg.body.value.rev as number;
        if (rev <= lastLive) counts.doubled++;
        lastLive = Math.max(lastLive, rev);
        if (live) take(rev);
        else buffered.push(rev);
      } else if (msg.action === 'result' && asking) {
        const answer = msg.body[0]?.data;
        if (!answer || answer.reload) {
          counts.reloads++;
          return;
        }
        for (const change of answer.changes as { rev: number }[]) take(change.rev);
        if (answer.more) {
          counts.extraPages++;
          ask(socket);
          return;
        }
        asking = false;
        live = true;
        for (const rev of buffered) take(rev);
        buffered = [];
      }
    });
  };

  return {
    connect,
    /** Drops the socket as a network would (or closes it, as a tab would) and opens a new one. */
    reconnect(abrupt: boolean) {
      const old = ws;
      ws = null;
      if (abrupt) old?.terminate();
      else old?.close(1000);
      counts.reconnects++;
      connect();
    },
    have: () => have,
    isLive: () => live,
    close() {
      closed = true;
      ws?.terminate();
    },
  };
}

export type Follower = ReturnType<typeof createFollower>;

/** One calendar slot a writer owns: the event now in it and its acknowledged text, or null once deleted. */
interface Slot {
  id: string;
  text: string | null;
  busy: boolean;
}

/**
 * A steady write load through REST: updates of a fixed set of events, now and then a delete and a
 * new event in its place, so the calendar's size stays level. Keeps what was acknowledged.
 */
export function createWriteLoad(rest: RestClient, events: { id: string; text: string }[], tag: string) {
  const slots: Slot[] = events.map((e) => ({ id: e.id, text: e.text, busy: false }));
  let next = 0;
  let n = 0;
  const failures: string[] = [];
  let acks = 0;

  const writeOne = async (slot: Slot) => {
    slot.busy = true;
    const text = `${tag}-${n++}`;
    try {
      if (slot.text === null) {
        const res = await rest.json('POST', '/events', eventBody(text));
        if (res.status !== 200 || res.body?.action !== 'inserted') throw new Error(`POST: ${res.status} ${JSON.stringify(res.body)}`);
        slot.id = res.body.tid;
        slot.text = text;
      } else if (n % 20 === 0) {
        const res = await rest.json('DELETE', `/events/${slot.id}`);
        if (res.status !== 200 || res.body?.action !== 'deleted') throw new Error(`DELETE: ${res.status} ${JSON.stringify(res.body)}`);
        slot.text = null;
      } else {
        const res = await rest.json('PUT', `/events/${slot.id}`, eventBody(text));
        if (res.status !== 200 || res.body?.action !== 'updated') throw new Error(`PUT: ${res.status} ${JSON.stringify(res.body)}`);
        slot.text = text;
      }
      acks++;
    } catch (err) {
      failures.push((err as Error).message);
    } finally {
      slot.busy = false;
    }
  };
  const inFlight = new Set<Promise<void>>();
  return {
    /** Starts `count` writes on slots that have none in flight. */
    write(count: number) {
      for (let i = 0; i < count; i++) {
        const slot = slots[next++ % slots.length]!;
        if (slot.busy) continue;
        const p = writeOne(slot);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
    },
    settled: () => Promise.all([...inFlight]),
    acks: () => acks,
    failures,
    /** Acknowledged writes the host does not hold as acknowledged. */
    missing(found: Map<string, string>): string[] {
      const wrong: string[] = [];
      for (const slot of slots) {
        const got = found.get(slot.id) ?? null;
        if (got !== slot.text) wrong.push(`${slot.id}: acknowledged ${JSON.stringify(slot.text)}, found ${JSON.stringify(got)}`);
      }
      return wrong;
    },
  };
}
