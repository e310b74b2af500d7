import { v7, validate, version } from 'uuid';

/**
 * A new record id: a UUIDv7 (RFC 9562), random but for its first 48 bits, which are the time it
 * was made. Ids stay globally unique, so records written on different desks merge without
 * clashes, and a desk back from a long absence can tell a record made while it was away from one
 * it held before (see the peer layer's long-absence join).
 */
export const newRecordId = (): string => v7();

/** When the record with this id was made, in ms since the epoch; 0 when the id does not say (an earlier version's random id). */
export function createdAt(id: string): number {
  if (!validate(id) || version(id) !== 7) return 0;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
