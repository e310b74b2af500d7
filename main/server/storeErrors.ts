import { StoreError } from '../store/errors.js';
import { HttpError } from './httpError.js';

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

/** What express's body parsers throw, by their `type`. */
const BODY_ERRORS: Record<string, [number, string]> = {
  'entity.parse.failed': [400, 'the body is not valid JSON'],
  'encoding.unsupported': [415, 'unsupported content encoding'],
  'charset.unsupported': [415, 'unsupported charset'],
};

/**
 * The answer every route gives to a thrown error: an HttpError as it says, a store failure as
 * above, a body parser's refusal, and 500 "internal error" for anything else (the caller logs that).
 * One mapping for REST, the fast write path, CalDAV and the settings and import routes, so a full
 * disk is a 507 whichever door the write came through.
 */
export function errorAnswer(err: unknown): [number, string] {
  if (err instanceof HttpError) return [err.status, err.message];
  const stored = storeErrorAnswer(err);
  if (stored) return stored;
  const type = (err as { type?: unknown; limit?: unknown } | null)?.type;
  if (type === 'entity.too.large') return [413, `the body is larger than ${Math.round(Number((err as { limit?: unknown }).limit ?? 0) / 1024)} KiB`];
  return (typeof type === 'string' && BODY_ERRORS[type]) || [500, 'internal error'];
}
