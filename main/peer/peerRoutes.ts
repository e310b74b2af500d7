import { Router } from 'express';
import type { Change, Store, VersionedChange } from '../store/types.js';
import { parseStamp } from '../store/hlc.js';
import { HttpError } from '../server/httpError.js';
import { ENTITY_NAME } from '../server/socketHub.js';
import { deskUrl } from './deskClient.js';
import type { Role } from './discovery.js';

/** What a desk says about itself to other desks of its calendar. */
export interface PeerStatus {
  peerId: string;
  calendarId: string;
  role: Role;
  /** How far its data reaches, in its host's revisions (its own, when it hosts or starts). */
  revision: number;
  storeId: string;
}

export interface PeerRoutesOptions {
  store: Store;
  announce(changes: Change[]): void;
  status(): PeerStatus;
  /** The host asks this desk to take over; `from` is the host's URL, to copy its last changes from. */
  handover(from: string): Promise<void>;
}

const OPS = new Set(['add', 'update', 'delete']);
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_CHANGES = 500_000;

/**
 * Checks changes sent by another desk. Their records were validated where they were written;
 * here the shape is checked, and so is the invariant that stored text is always escaped
 * (no raw `<` or `>` anywhere), so a desk cannot slip markup past the REST validation.
 */
export function checkChanges(body: unknown): VersionedChange[] {
  const changes = (body as { changes?: unknown })?.changes;
  if (!Array.isArray(changes) || changes.length > MAX_CHANGES) throw new HttpError(400, `changes must be an array of at most ${MAX_CHANGES}`);
  for (const c of changes as VersionedChange[]) {
    const ok =
      typeof c === 'object' && c !== null &&
      typeof c.entity === 'string' && ENTITY_NAME.test(c.entity) &&
      OPS.has(c.op) &&
      typeof c.hlc === 'string' && parseStamp(c.hlc) !== null &&
      typeof c.record === 'object' && c.record !== null && !Array.isArray(c.record) &&
      typeof c.record.id === 'string' && ID.test(c.record.id) &&
      Object.keys(c.record).length <= 64 &&
      Object.entries(c.record).every(
        ([k, v]) => !FORBIDDEN.has(k) && (v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && !/[<>]/.test(v))),
      );
    if (!ok) throw new HttpError(400, 'a change is not a valid versioned change');
  }
  return changes as VersionedChange[];
}

/** The routes desks use with each other, under /api/v1/peer (behind the calendar's token). */
export function peerRoutes(options: PeerRoutesOptions): Router {
  const { store, announce } = options;
  const router = Router();
  router.get('/status', (_req, res) => void res.json(options.status()));
  router.get('/state', (_req, res) => void res.json({ storeId: store.storeId, revision: store.revision(), changes: store.exportState() }));
  router.post('/merge', async (req, res) => {
    const applied = await store.merge(checkChanges(req.body));
    announce(applied);
    res.json({ applied: applied.length, revision: store.revision() });
  });
  router.post('/handover', async (req, res) => {
    const port = Number((req.body as { port?: unknown })?.port);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new HttpError(400, 'port must be the leaving host\'s port');
    // The host that leaves is the one asking: its address is the one the request came from.
    const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    await options.handover(deskUrl({ address, port }));
    res.json({ ok: true });
  });
  return router;
}
