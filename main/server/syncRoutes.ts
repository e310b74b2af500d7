import { Router } from 'express';
import type { Store } from '../store/types.js';
import type { TokenAuth } from './auth.js';
import { liveValue } from './entities.js';
import { HttpError } from './httpError.js';
import { apiShape, MAX_CALLS, runCalls, type RpcMethods } from './rpc.js';

/**
 * What `changes?since=` and the `sync.changes` call answer: the missed live messages, or "reload".
 * One page at a time (the store's page size): with `more: true`, `revision` is the last change
 * sent and the caller asks again from there until an answer comes without `more`.
 */
export function changesAnswer(store: Store, since: unknown, storeId?: unknown) {
  const rev = typeof since === 'string' && /^\d{1,15}$/.test(since) ? Number(since) : since;
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0) {
    throw new HttpError(400, 'since must be a revision number (0 or more)');
  }
  const answer = store.changesSince(rev, typeof storeId === 'string' && storeId ? storeId : undefined);
  if (!answer.ok) return { reload: true, reason: answer.reason, revision: answer.revision, storeId: store.storeId };
  return {
    reload: false,
    revision: answer.revision,
    storeId: store.storeId,
    changes: answer.changes.map((c) => ({ rev: c.rev, name: c.entity, value: liveValue(c) })),
    ...(answer.more ? { more: true } : {}),
  };
}

/** The socket RPC methods every page can call. */
export function syncMethods(store: Store): RpcMethods {
  return {
    'sync.revision': () => ({ revision: store.revision(), storeId: store.storeId }),
    'sync.changes': (since, storeId) => changesAnswer(store, since, storeId),
  };
}

/** The live-updates handshake, its HTTP fallback for calls, and the catch-up feed. */
export function syncRoutes(store: Store, auth: TokenAuth, methods: RpcMethods): Router {
  const router = Router();
  const api = apiShape(methods);
  router.get('/api/v1', (_req, res) => {
    res.json({
      api,
      data: { revision: store.revision(), storeId: store.storeId },
      websocket: true,
      key: auth.issueKey(),
    });
  });
  // The client posts calls here while it has no socket.
  router.post('/api/v1', async (req, res) => {
    const calls: unknown = req.body;
    if (!Array.isArray(calls) || calls.length > MAX_CALLS) {
      throw new HttpError(400, `the body must be an array of at most ${MAX_CALLS} calls`);
    }
    res.json(await runCalls(methods, calls));
  });
  router.get('/api/v1/changes', (req, res) => void res.json(changesAnswer(store, req.query.since, req.query.store)));
  return router;
}
