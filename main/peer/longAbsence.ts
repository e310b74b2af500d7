import { createdAt } from '../store/ids.js';
import { parseStamp } from '../store/hlc.js';
import type { ChangeRequest, Store, VersionedChange } from '../store/types.js';
import { PAGE } from './changes.js';

/**
 * Joining after a long time apart. Tombstones are forgotten after a while (every desk seen since
 * has them), so when a desk and its host were last together longer ago than that, a record one of
 * them holds and the other lacks is ambiguous: made since, or deleted since? Record ids carry the
 * time they were made (UUIDv7), which answers it:
 * - made after the two were last together: new, and kept (pushed to the host, or taken from it);
 * - made before: the side that lacks it deleted it since, so it is deleted on the other side too.
 *   If the side that holds it edited it since, that edit is lost, and reported, not dropped
 *   silently. Nothing deleted comes back, and nothing made meanwhile is lost.
 * Records both hold, and tombstones, merge as always (the later version wins).
 */
export interface AbsencePlan {
  /** This desk's changes for the host: what it made or changed since, and deletes of what it no longer holds. */
  push: VersionedChange[];
  /** Deletes for this desk's own store: what the host no longer holds. */
  forget: ChangeRequest[];
  /** Titles of edits made since to records the other side deleted. */
  lost: string[];
}

/** Which record a change is of, whatever its version. */
export const keyOf = (c: { entity: string; record: { id: string } }) => `${c.entity}\u0000${c.record.id}`;
const wallOf = (hlc: string) => parseStamp(hlc)?.wall ?? 0;
const titleOf = (record: Record<string, unknown>) => String(record.text ?? record.name ?? record.id).slice(0, 80);

/** When two desks were last together, if that is older than what tombstones cover (else null: an ordinary join does). */
export function lastTogether(mine: number, theirs: number, keepDeletionsMs: number, now = Date.now()): number | null {
  // A desk that was never in sync with anyone holds only what it made itself: an ordinary join is right.
  if (mine <= 0) return null;
  const since = theirs > 0 ? Math.min(mine, theirs) : mine;
  return now - since > keepDeletionsMs ? since : null;
}

/**
 * What to do, given the host's state (`theirs`: every record and tombstone the host holds, as pulled)
 * and this desk's store, for two desks last together at `since`.
 */
export function planRejoin(store: Store, theirs: Map<string, VersionedChange>, since: number, stamp: () => string): AbsencePlan {
  const push: VersionedChange[] = [];
  const forget: ChangeRequest[] = [];
  const lost: string[] = [];
  const mine = new Set<string>();
  for (const page of store.exportPages(PAGE).pages) {
    for (const c of page) {
      const key = keyOf(c);
      mine.add(key);
      const changedSince = wallOf(c.hlc) > since;
      if (theirs.has(key) || c.op === 'delete') {
        if (changedSince) push.push(c);
      } else if (createdAt(c.record.id) > since) {
        push.push(c); // made while apart
      } else {
        if (changedSince) lost.push(titleOf(c.record));
        forget.push({ entity: c.entity, op: 'delete', record: { id: c.record.id } });
      }
    }
  }
  for (const [key, c] of theirs) {
    if (mine.has(key) || c.op === 'delete' || createdAt(c.record.id) > since) continue;
    // The host holds a record older than the last time together that this desk no longer holds:
    // this desk deleted it since. The delete goes to the host, stamped now, so it wins.
    if (wallOf(c.hlc) > since) lost.push(titleOf(c.record));
    push.push({ entity: c.entity, op: 'delete', record: { id: c.record.id }, hlc: stamp() });
  }
  return { push, forget, lost };
}
