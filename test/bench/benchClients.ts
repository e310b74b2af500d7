import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

export interface RestAnswer {
  status: number;
  body: any;
}

export interface RestClient {
  /** One JSON request with the token over a kept-alive connection. */
  json(method: string, path: string, body?: unknown): Promise<RestAnswer>;
  /** One request with any body and content type (JSON unless said), with the token; the answer's text as it came. */
  send(method: string, path: string, body?: string | Buffer, type?: string): Promise<{ status: number; text: string }>;
  close(): void;
}

/** A REST client on node:http with keep-alive: much cheaper per request than fetch, so the bench side stays light. */
export function createRestClient(port: number, token: string, maxSockets = 64): RestClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send: RestClient['send'] = (method, path, body, type = 'application/json') =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { 'Remote-Token': token };
      if (body !== undefined) Object.assign(headers, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      const req = request({ agent, host: '127.0.0.1', port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    async json(method, path, body) {
      const { status, text } = await send(method, path, body === undefined ? undefined : JSON.stringify(body));
      try {
        return { status, body: JSON.parse(text) };
      } catch {
        throw new Error(`${method} ${path}: ${status} ${text.slice(0, 200)}`);
      }
    },
    send,
    close: () => agent.destroy(),
  };
}

/** Receives the text of every frame a subscribed socket reads after it is subscribed, with the time it was read. */
export type OnFrame = (socket: number, text: string, at: number) => void;

export interface Subscribers {
  count: number;
  close(): Promise<void>;
}

/**
 * Opens `count` sockets with one session key (keys are stateless and reusable), subscribes
 * each to "events", and resolves once the server has answered a call on every socket:
 * frames are handled in order, so the answer proves the subscription is in place.
 * With `secure`, the sockets are wss (the desk's self-signed certificate is accepted as it is).
 */
export async function openSubscribers(port: number, key: string, count: number, onFrame: OnFrame, secure = false): Promise<Subscribers> {
  const url = `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/api/v1?token=${encodeURIComponent(key)}&ws=1`;
  const sockets: WebSocket[] = [];
  let next = 0;
  const opener = async () => {
    while (next < count) {
      const index = next++;
      sockets.push(await openOne(url, index, onFrame));
    }
  };
  try {
    // A few handshakes at a time: a thousand at once only fills the listen backlog.
    await Promise.all(Array.from({ length: Math.min(50, count) }, opener));
  } catch (err) {
    for (const ws of sockets) ws.terminate();
    throw err;
  }
  return { count, close: () => closeAll(sockets) };
}

function openOne(url: string, index: number, onFrame: OnFrame): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, rejectUnauthorized: false });
    let ready = false;
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`socket ${index} was not subscribed within 30 s`)), 30_000);
    // After subscribing, a failing socket shows up as lost deliveries, which the bench reports.
    ws.on('error', (err) => !ready && fail(err));
    ws.on('close', () => !ready && fail(new Error(`socket ${index} closed before it was subscribed`)));
    ws.on('message', (data) => {
      const at = performance.now();
      if (ready) return onFrame(index, data.toString(), at);
      const msg = JSON.parse(data.toString());
      if (msg.action === 'start') {
        ws.send(JSON.stringify({ action: 'subscribe', name: 'events' }));
        ws.send(JSON.stringify({ action: 'call', body: [{ id: 1, name: 'sync.revision', args: [] }] }));
      } else if (msg.action === 'result') {
        ready = true;
        clearTimeout(timer);
        readFramesItself(ws, index, onFrame);
        resolve(ws);
      } else if (msg.action === 'error') {
        fail(new Error(`socket ${index}: ${msg.body?.message}`));
      }
    });
  });
}

/**
 * From here on the socket's frames are read here instead of by ws: a thousand sockets through
 * ws's receiver cost the load generator more than the host spends, and the latency measured
 * would be the bench's own. Server frames are unmasked and never fragmented here; pings are answered.
 */
function readFramesItself(ws: WebSocket, index: number, onFrame: OnFrame) {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.removeAllListeners('data');
  let carry: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const at = performance.now();
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let i = 0;
    for (;;) {
      if (i + 2 > buf.length) break;
      let length = buf[i + 1]! & 0x7f;
      let head = 2;
      if (length === 126) {
        if (i + 4 > buf.length) break;
        length = buf.readUInt16BE(i + 2);
        head = 4;
      } else if (length === 127) {
        if (i + 10 > buf.length) break;
        length = Number(buf.readBigUInt64BE(i + 2));
        head = 10;
      }
      if (i + head + length > buf.length) break;
      const opcode = buf[i]! & 0x0f;
      const payload = buf.subarray(i + head, i + head + length);
      if (opcode === 1) onFrame(index, payload.toString(), at);
      else if (opcode === 9) ws.pong(payload);
      i += head + length;
    }
    carry = i < buf.length ? Buffer.from(buf.subarray(i)) : null;
  });
}

/** The host drops each socket on its close; a close handshake would go through ws's receiver, which no longer reads. */
async function closeAll(sockets: WebSocket[]) {
  for (const ws of sockets) ws.terminate();
}
