import { createHash, hkdfSync, randomBytes, scryptSync } from 'node:crypto';

/**
 * A calendar's join key and what derives from it. The key is the one secret a person hands on;
 * every other secret comes out of it through HKDF with a label of its own, so no secret is ever
 * used for two purposes, and a new key (a removed colleague) replaces all of them at once.
 * The calendar's public id does not derive from the key: it must outlive a key change, and an
 * announcement of it must not let anyone test guesses of a key offline.
 */
export interface CalendarSecrets {
  /** The access token browsers and CalDAV clients hold: REST and live updates, nothing else. */
  browserToken: string;
  /** What desks prove to each other that they hold the key with (never sent anywhere). */
  deskSecret: Buffer;
}

/** The wire protocol between desks: announced over mDNS and stated in every proof. */
export const PROTOCOL_VERSION = 2;

const RANDOM_BYTES = 16;
const CHECK_BYTES = 2;
const KEY = /^[A-Za-z0-9_-]+$/;

const checksum = (random: Buffer) => createHash('sha256').update('lan-scheduler join key').update(random).digest().subarray(0, CHECK_BYTES);

/**
 * A new join key: 128 random bits and a 16-bit checksum, as 24 characters of base64url. The
 * checksum catches a mistyped key before any desk is asked, and it is how a key that a person
 * made up is told from one this app made: only keys this app made carry 128 bits of entropy.
 */
export function newJoinKey(): string {
  const random = randomBytes(RANDOM_BYTES);
  return Buffer.concat([random, checksum(random)]).toString('base64url');
}

/** Why a typed key is not acceptable, or undefined when it is. */
export function joinKeyProblem(key: string): string | undefined {
  if (!KEY.test(key)) return 'a calendar key is letters, digits, "-" and "_" only';
  const bytes = Buffer.from(key, 'base64url');
  // Canonical base64url only: the same bytes spelled another way would be another key.
  if (bytes.toString('base64url') !== key) return 'that is not a key LAN Scheduler made (check for a typo)';
  if (bytes.length === RANDOM_BYTES + CHECK_BYTES) {
    return checksum(bytes.subarray(0, RANDOM_BYTES)).equals(bytes.subarray(RANDOM_BYTES)) ? undefined : 'that key has a typo in it';
  }
  if (bytes.length === RANDOM_BYTES) {
    // The previous version's keys: 16 random bytes without a checksum. A made-up string of the same
    // length would have to be all but random to pass for one: few distinct characters give it away.
    return new Set(key).size >= 10 ? undefined : 'that key is too regular to be one LAN Scheduler made';
  }
  return 'a calendar key is the 24 characters from an invite';
}

/** Takes a key as a person typed or pasted it; throws a TypeError that says what is wrong. */
export function checkJoinKey(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError('the key must be text');
  const key = value.trim();
  const problem = joinKeyProblem(key);
  if (problem) throw new TypeError(`That is not a calendar key: ${problem}.`);
  return key;
}

const derive = (joinKey: string, label: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(joinKey, 'utf8'), 'lan-scheduler/v2', `lan-scheduler ${label}`, 32));

/** The secrets of a calendar with this key. */
export function calendarSecrets(joinKey: string): CalendarSecrets {
  if (typeof joinKey !== 'string' || joinKey.length < 8) throw new TypeError('the join key must be at least 8 characters');
  return { browserToken: derive(joinKey, 'browser token').toString('base64url'), deskSecret: derive(joinKey, 'desk secret') };
}

/** A new public id for a new calendar: random, so that it says nothing about the key. */
export function newCalendarId(): string {
  return randomBytes(12).toString('hex');
}

/**
 * The id the previous version derived from the key (through scrypt). A calendar made by that
 * version keeps it for good, so that its folders, its announcements and everything that names
 * it stay the same after the upgrade; it is only computed once, when the old desk file is read.
 */
export function legacyCalendarId(joinKey: string): string {
  return scryptSync(joinKey, 'lan-scheduler/calendar-id', 12, { N: 2 ** 14 }).toString('hex');
}

/** A calendar's public id as desks announce it: lowercase hex (24 characters, new or from the previous version). */
export const CALENDAR_ID = /^[0-9a-f]{16,64}$/;
