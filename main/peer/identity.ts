import { createHmac, randomBytes, scryptSync } from 'node:crypto';

/** A shared calendar as desks know it: the join key is the secret, the rest derives from it. */
export interface CalendarIdentity {
  /** Public: announced on the LAN so desks of one calendar find each other. */
  id: string;
  name: string;
  /** Secret: whoever has it can join. */
  joinKey: string;
  /** The Remote-Token every desk of this calendar accepts (pages and desks alike). */
  token: string;
}

export const PROTOCOL_VERSION = '1';

/** A new join key: 128 random bits, short enough to read out. */
export function newJoinKey(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Derives the calendar's public id and its token from the join key, so desks started with the
 * same key agree without talking. The id goes through scrypt so a weak key is slow to guess
 * from the announcement.
 */
export function calendarIdentity(name: string, joinKey: string): CalendarIdentity {
  if (typeof joinKey !== 'string' || joinKey.length < 8) throw new TypeError('the join key must be at least 8 characters');
  const id = scryptSync(joinKey, 'lan-scheduler/calendar-id', 12, { N: 2 ** 14 }).toString('hex');
  const token = createHmac('sha256', joinKey).update('lan-scheduler/token').digest('base64url');
  return { id, name, joinKey, token };
}
