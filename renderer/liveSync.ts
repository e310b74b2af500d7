import type { Api, LiveChange } from './api.js';
import { fromWire } from './text.js';

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'offline';

type Handler = (value: any) => void;

/** The parts of the shipped `RemoteEvents` client this page uses. */
export interface RemoteEventsLike {
  on(handlers: Record<string, Handler>): void;
  ready(): Promise<{ api: Record<string, Record<string, (...args: unknown[]) => Promise<any>>> }>;
}
export type RemoteEventsClass = new (url: string, token: string) => RemoteEventsLike;

export interface LiveSyncOptions {
  RemoteEvents: RemoteEventsClass;
  api: Api;
  /** Handlers per entity, given values whose records are already plain text. */
  handlers: Record<string, Handler>;
  /** The revision and store of the data the page has loaded. */
  loaded: { revision: number; storeId: string };
  /** Loads everything again, when the host's log no longer reaches back far enough. */
  reload(): Promise<{ revision: number; storeId: string }>;
  onState(state: LinkState): void;
  sockets: SocketWatch;
}

/**
 * Live updates with catch-up. The shipped client reconnects on its own but never reloads,
 * so whatever was broadcast while it was away would be lost: on every `start` this asks the
 * host (over the same socket, after the client has re-subscribed) for the changes since the
 * last revision it applied, and replays them through the same handlers.
 */
export function startLiveSync(options: LiveSyncOptions) {
  const { api, handlers, sockets } = options;
  let { revision, storeId } = options.loaded;
  let state: LinkState = 'connecting';
  const setState = (next: LinkState) => {
    if (next !== state) options.onState((state = next));
  };
  options.onState(state);

  const deliver = (name: string, value: LiveChange['value']) => {
    const rev = typeof value.rev === 'number' ? value.rev : 0;
    if (rev && rev <= revision) return; // already part of what the page has
    const record = ['event', 'task', 'link', 'value'].find((k) => value[k] && typeof value[k] === 'object');
    handlers[name]?.(record ? { ...value, [record]: fromWire(value[record] as Record<string, unknown>) } : value);
    if (rev) revision = rev;
  };
  const live: Record<string, Handler> = {};
  for (const name of Object.keys(handlers)) live[name] = (value) => deliver(name, value);

  const remote = new options.RemoteEvents(`${api.baseUrl}/api/v1`, api.token);
  remote.on(live);

  // The host answers a page at a time: with `more`, ask again from where that page ended.
  const catchUp = async () => {
    const client = await remote.ready();
    for (let more = true; more; ) {
      const answer = await client.api.sync!.changes!(revision, storeId);
      if (answer.reload) {
        ({ revision, storeId } = await options.reload());
        return;
      }
      const from = revision;
      for (const change of answer.changes as LiveChange[]) if (handlers[change.name]) deliver(change.name, change.value);
      // A page that moved nothing forward would ask for the same page again.
      more = answer.more === true && answer.revision > from;
      revision = Math.max(revision, answer.revision);
    }
  };

  let socketUrl = '';
  remote.ready().then((client) => {
    // The client keeps one URL (with its session key) for every reconnect: watch sockets to it.
    const url = (client as unknown as { _socket?: WebSocket })._socket?.url;
    if (!url) return;
    socketUrl = url;
    sockets.watch(url, {
      start() {
        setState('live');
        // Let the client send its subscriptions first, so nothing falls between the two.
        setTimeout(() => catchUp().catch(() => setState('reconnecting')), 0);
      },
      close: () => setState(navigator.onLine ? 'reconnecting' : 'offline'),
    });
  }, () => setState('reconnecting'));

  addEventListener('offline', () => setState('offline'));
  // A socket can live through a short outage; then no new `start` comes, so catch up here.
  addEventListener('online', () => {
    if (state !== 'offline') return;
    if (sockets.isOpen(socketUrl)) {
      setState('live');
      catchUp().catch(() => setState('reconnecting'));
    } else {
      setState('reconnecting');
    }
  });

  return {
    revision: () => revision,
    /** Called by the view after a full reload it did itself. */
    reloaded(next: { revision: number; storeId: string }) {
      ({ revision, storeId } = next);
    },
  };
}

export interface SocketWatch {
  watch(url: string, listener: { start(): void; close(): void }): void;
  isOpen(url: string): boolean;
}

/**
 * Observes the page's WebSockets (the shipped client has no open or close callbacks):
 * installs a subclass of WebSocket that reports `start` messages and closes by URL.
 */
export function watchSockets(win: Window & typeof globalThis = window): SocketWatch {
  const listeners = new Map<string, { start(): void; close(): void }>();
  const latest = new Map<string, WebSocket>();
  const Native = win.WebSocket;
  class ObservedWebSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      latest.set(this.url, this);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string' && e.data.startsWith('{"action":"start"')) listeners.get(this.url)?.start();
      });
      this.addEventListener('close', () => listeners.get(this.url)?.close());
    }
  }
  win.WebSocket = ObservedWebSocket;
  return {
    watch: (url, listener) => void listeners.set(url, listener),
    isOpen: (url) => latest.get(url)?.readyState === Native.OPEN,
  };
}
