import { StoreError } from '../store/errors.js';

/**
 * The HTTP answer to a store failure: 507 when nothing more can be stored (a full disk, in
 * exactly the words `DISK_FULL`, or a calendar at its limits, as WebDAV answers a full quota),
 * 503 when the disk failed otherwise or the store is closing. Null for anything else.
 */
export function storeErrorAnswer(err: unknown): [number, string] | null {
  if (!(err instanceof StoreError)) return null;
  switch (err.kind) {
    case 'disk-full':
    case 'limit':
      return [507, err.message];
    case 'closed':
      return [503, 'the host is shutting down; try again in a moment'];
    default:
      return [503, err.message];
  }
}
