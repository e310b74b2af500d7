import { storedEntities } from '../server/entities.js';
import { HttpError } from '../server/httpError.js';
import { checkId, validateStoredRecord } from '../server/validate.js';
import { MAX_STAMP_AHEAD_MS } from '../store/lowStore.js';
import { parseStamp } from '../store/hlc.js';
import type { Change, VersionedChange } from '../store/types.js';

/** Changes cross between desks in pages of this many: no message, and no answer, is ever the whole calendar. */
export const PAGE = 1000;
/** …and of about this many bytes at most: a thousand records at their largest would pass what one desk message may carry (16 MiB). */
export const PAGE_BYTES = 4 * 1024 * 1024;

/** `changes` cut where a page would pass PAGE_BYTES (as JSON), keeping at least one change a page. */
export function bySize<T>(changes: readonly T[], max = PAGE_BYTES): T[][] {
  const out: T[][] = [];
  let page: T[] = [];
  let bytes = 0;
  for (const c of changes) {
    const size = JSON.stringify(c).length + 1;
    if (page.length > 0 && bytes + size > max) {
      out.push(page);
      page = [];
      bytes = 0;
    }
    page.push(c);
    bytes += size;
  }
  if (page.length > 0) out.push(page);
  return out;
}

const byName = new Map(storedEntities.map((def) => [def.name, def]));

/**
 * Checks changes another desk sent as strictly as REST input: a stored entity, a known operation,
 * a version stamp that is not more than a minute ahead of this desk's (host-corrected) clock, and a
 * record exactly as REST validation would have stored it. A delete carries only the id.
 * A change that fails is refused on its own, with the reason, so one bad record (say, written by an
 * older version under older limits) cannot stop a whole hand-over; a malformed batch is refused whole.
 */
export function checkIncoming(raw: unknown, now: number): { changes: VersionedChange[]; refused: string[] } {
  if (!Array.isArray(raw) || raw.length > PAGE) throw new HttpError(400, `changes must be an array of at most ${PAGE}`);
  const changes: VersionedChange[] = [];
  const refused: string[] = [];
  raw.forEach((c: Partial<VersionedChange>, i) => {
    try {
      changes.push(checkChange(c, now));
    } catch (err) {
      refused.push(`change ${i + 1} (${String((c?.record as { id?: unknown })?.id ?? '?').slice(0, 40)}): ${(err as Error).message}`);
    }
  });
  return { changes, refused };
}

function checkChange(c: Partial<VersionedChange>, now: number): VersionedChange {
  if (typeof c !== 'object' || c === null) throw new HttpError(400, 'not an object');
  const def = typeof c.entity === 'string' ? byName.get(c.entity) : undefined;
  if (!def) throw new HttpError(400, `${JSON.stringify(String(c.entity).slice(0, 40))} is not something this calendar stores`);
  if (c.op !== 'add' && c.op !== 'update' && c.op !== 'delete') throw new HttpError(400, 'unknown operation');
  const stamp = typeof c.hlc === 'string' && c.hlc.length <= 80 ? parseStamp(c.hlc) : null;
  if (!stamp) throw new HttpError(400, 'not a version stamp');
  if (stamp.wall > now + MAX_STAMP_AHEAD_MS) {
    throw new HttpError(400, `stamped ${Math.round((stamp.wall - now) / 1000)} s ahead of this desk's clock (a desk's clock is off)`);
  }
  const record = c.op === 'delete' ? { id: checkId((c.record as { id?: unknown })?.id) } : validateStoredRecord(def.spec, c.record);
  return { entity: def.name, op: c.op, record, hlc: c.hlc! };
}

export const versioned = ({ rev: _rev, ...change }: Change): VersionedChange => change;
