import { events } from '../server/entities.js';
import { unescapeHtml } from '../server/validate.js';
import type { Change, Store } from '../store/types.js';
import { DavError } from './davError.js';

// A sync token names the store and its revision, so a token from another desk's store (or from a
// store that was replaced) is recognised as foreign rather than misread as a revision of this one.
const PREFIX = 'urn:x-lan-scheduler:sync:';

export const syncTokenOf = (storeId: string, revision: number) => `${PREFIX}${storeId}:${revision}`;

export function parseSyncToken(token: string): { storeId: string; revision: number } | null {
  if (!token.startsWith(PREFIX)) return null;
  const rest = token.slice(PREFIX.length);
  const at = rest.lastIndexOf(':');
  const revision = Number(rest.slice(at + 1));
  if (at <= 0 || !/^\d{1,15}$/.test(rest.slice(at + 1)) || !Number.isSafeInteger(revision)) return null;
  return { storeId: rest.slice(0, at), revision };
}

export interface ChangedSince {
  revision: number;
  /** Ids of series and single events that changed (an exception's change counts for its series). */
  masters: Set<string>;
  /** Names deleted resources had, by id, as the change log tells them. */
  names: Map<string, string>;
  /** A change that alters every resource's text (the calendar's zone, or its calendars). */
  everything: boolean;
}

const invalid = () => new DavError(403, 'valid-sync-token', 'the sync token is from another calendar store or older than the changes this desk keeps: sync again from the start');

/** Every change after `since`, page by page (the store may answer a bounded page at a time). */
export function changesAfter(store: Store, since: number, storeId: string): { revision: number; changes: Change[] } {
  const changes: Change[] = [];
  let from = since;
  for (;;) {
    const answer = store.changesSince(from, storeId);
    if (!answer.ok) throw invalid();
    changes.push(...answer.changes);
    if (!answer.more) return { revision: answer.revision, changes };
    // With `more`, the revision is the page's last change: the next page starts there.
    from = answer.revision;
  }
}

/** What changed in the calendar after a client's sync token; a foreign or too old token is RFC 6578's valid-sync-token error. */
export function changedSince(store: Store, token: string): ChangedSince {
  const parsed = parseSyncToken(token);
  if (!parsed || parsed.storeId !== store.storeId) throw invalid();
  const { revision, changes } = changesAfter(store, parsed.revision, parsed.storeId);
  const masters = new Set<string>();
  const names = new Map<string, string>();
  let everything = false;
  for (const change of changes) {
    if (change.entity !== events.name) {
      everything ||= change.entity === 'settings' || change.entity === 'calendars';
      continue;
    }
    const { record } = change;
    if (record.recurring_event_id) {
      masters.add(String(record.recurring_event_id));
      continue;
    }
    masters.add(record.id);
    if (typeof record.dav_name === 'string' && record.dav_name) names.set(record.id, unescapeHtml(record.dav_name));
  }
  return { revision, masters, names, everything };
}
