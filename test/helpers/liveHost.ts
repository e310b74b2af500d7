import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { silentLogger } from '../../main/log.js';
import { createTokenAuth } from '../../main/server/auth.js';
import { calendarAppRoutes } from '../../main/dav/calendarApps.js';
import { createLiveServer, type LiveServerOptions } from '../../main/server/liveServer.js';
import { createLowStore } from '../../main/store/lowStore.js';

export const TOKEN = 'test-token-0123456789';

/** A quiet live server on port 0 over a real store in a temp folder. */
export async function startTestHost(extra: Partial<LiveServerOptions> & { dir?: string } = {}) {
  const dir = extra.dir ?? (await mkdtemp(join(tmpdir(), 'lansched-')));
  const store = await createLowStore({ dir, log: silentLogger });
  const auth = createTokenAuth(TOKEN);
  // A whole host: the calendar apps' routes too, unless a test brings its own.
  const routes: LiveServerOptions['routes'] = (localChanges) => [calendarAppRoutes({ store, auth, log: silentLogger, onChanges: localChanges })];
  const server = createLiveServer({ store, auth, log: silentLogger, routes, ...extra });
  const { port } = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  const sockets: WebSocket[] = [];
  const host = {
    dir,
    store,
    server,
    port,
    base,
    /** A REST call with the token and JSON; answers the status and the parsed body. */
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(base + path, {
        method,
        headers: { 'Remote-Token': TOKEN, 'Content-Type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: any = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, body: json, headers: res.headers };
    },
    /** Handshake, then a socket that has received `start` and subscribed to `names`. */
    async connect(names: string[] = ['events']) {
      const hs = await host.call('GET', '/api/v1');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1?token=${hs.body.key}&ws=1`);
      sockets.push(ws);
      const inbox = messageQueue(ws);
      const start = await inbox.next();
      for (const name of names) ws.send(JSON.stringify({ action: 'subscribe', name }));
      // A call round trip proves the subscriptions were processed.
      ws.send(JSON.stringify({ action: 'call', body: [{ id: 'sync', name: 'sync.revision', args: [] }] }));
      await inbox.next((m) => m.action === 'result');
      return { ws, inbox, start, key: hs.body.key as string };
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await server.close();
      await store.close();
      if (!extra.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  return host;
}

export type TestHost = Awaited<ReturnType<typeof startTestHost>>;

/** Collects a socket's JSON messages; `next` waits for the next one that matches. */
export function messageQueue(ws: WebSocket) {
  const seen: any[] = [];
  const waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    const i = waiters.findIndex((w) => w.match(msg));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(msg);
    else seen.push(msg);
  });
  return {
    seen,
    next(match: (m: any) => boolean = () => true, timeoutMs = 3000): Promise<any> {
      const i = seen.findIndex(match);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching message in time')), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
}

/** Resolves with the close code and reason of a socket. */
export function closed(ws: WebSocket, timeoutMs = 3000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket did not close in time')), timeoutMs);
    ws.on('close', (code, reason) => (clearTimeout(timer), resolve({ code, reason: reason.toString() })));
  });
}

export const anEvent = (over: Record<string, unknown> = {}) => ({
  text: 'Standup',
  start_date: '2026-03-02 10:00',
  end_date: '2026-03-02 10:15',
  ...over,
});
