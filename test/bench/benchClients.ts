import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';

export interface RestAnswer {
  status: number;
  body: any;
}

export interface RestClient {
  /** One JSON request with the token over a kept-alive connection. */
  json(method: string, path: string, body?: unknown): Promise<RestAnswer>;
  close(): void;
}

/** A REST client on node:http with keep-alive: much cheaper per request than fetch, so the bench side stays light. */
export function createRestClient(port: number, token: string): RestClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    json(method, path, body) {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: '127.0.0.1',
            port,
            method,
            path,
            headers: {
              'Remote-Token': token,
              ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString();
              try {
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
              } catch {
                reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
              }
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
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
        resolve(ws);
      } else if (msg.action === 'error') {
        fail(new Error(`socket ${index}: ${msg.body?.message}`));
      }
    });
  });
}

async function closeAll(sockets: WebSocket[]) {
  const closed = sockets.map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close(1000);
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)));
  await Promise.race([Promise.all(closed), grace]);
  clearTimeout(timer);
  for (const ws of sockets) ws.terminate();
}
