import { errorCode } from './storeFs.js';

/**
 * Why the store refused or failed something:
 * - `disk-full`: the disk (or the user's quota) has no room; nothing of the write was kept,
 * - `io`: another failure of the disk; nothing of the write was kept,
 * - `limit`: the calendar is at one of its limits (records, size),
 * - `damaged`: a file in the data folder is damaged; the store did not start,
 * - `closed`: the store is shutting down.
 */
export type StoreErrorKind = 'disk-full' | 'io' | 'limit' | 'damaged' | 'closed';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Exactly what a person whose save was refused on a full disk reads. */
export const DISK_FULL = "the host's disk is full";

/** The error a failed write is answered with: a full disk in those words, anything else with its code. */
export function writeFailure(err: unknown): StoreError {
  const code = errorCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError('disk-full', DISK_FULL, { cause: err });
  const what = code ?? (err as Error)?.message ?? String(err);
  return new StoreError('io', `the host could not save the change: its disk reported ${what}`, { cause: err });
}
