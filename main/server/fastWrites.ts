import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { TokenAuth } from './auth.js';
import { events } from './entities.js';
import { errorBody } from './httpError.js';
import type { RecordService, RestAnswer } from './records.js';
import { errorAnswer } from './storeErrors.js';

export interface FastWritesOptions {
  auth: TokenAuth;
  records: RecordService;
  log: Logger;
  /** Headers every answer carries (the page's security headers), as Express sends them. */
  headers: Readonly<Record<string, string>>;
  /** The largest body taken, as `express.json`'s limit. */
  bodyBytes: number;
}

/** Answers a request it took, or says false and leaves it untouched for Express. */
export type FastWrites = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Ids the fast path takes as they are; anything else (percent-encoded, odd) goes to Express, which decodes it. */
const PLAIN_ID = /^[A-Za-z0-9_-]{1,128}$/;
const JSON_TYPE = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;

/**
 * The Scheduler's writes (POST /events, PUT and DELETE /events/:id) without Express: its
 * routing, body parser and response helpers cost more CPU than the rest of a write, journal
 * included. It answers exactly as the Express routes do (same checks, bodies, status codes and
 * headers) and takes only the plain case: a valid token, a JSON body with a length, no encoding.
 * Everything else (a missing or wrong token, another type, a chunked or compressed body)
 * is left to Express, which answers it with its own checks. The web front's Host allow-list and
 * TLS rules stand before both.
 */
export function createFastWrites(o: FastWritesOptions): FastWrites {
  const answer = (res: ServerResponse, status: number, value: unknown) => {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { ...o.headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  };
  const fail = (res: ServerResponse, err: unknown) => {
    const [status, message] = errorAnswer(err);
    if (status === 500) o.log.error(`request failed: ${(err as Error)?.stack ?? err}`);
    answer(res, status, errorBody(message));
  };
  const run = (res: ServerResponse, write: () => Promise<RestAnswer>) => {
    write().then(
      (done) => answer(res, 200, done),
      (err: unknown) => fail(res, err),
    );
  };

  return (req, res) => {
    const { method, url = '' } = req;
    if (!url.startsWith('/events') || (method !== 'POST' && method !== 'PUT' && method !== 'DELETE')) return false;
    const id = url.length === 7 ? null : url.charCodeAt(7) === 0x2f ? url.slice(8) : undefined;
    if (id === undefined || (id === null) !== (method === 'POST') || (id !== null && !PLAIN_ID.test(id))) return false;
    const h = req.headers;
    const token = h['remote-token'];
    if (typeof token !== 'string' || !o.auth.checkToken(token, req.socket)) return false;
    if (h['transfer-encoding'] !== undefined || (h['content-encoding'] !== undefined && h['content-encoding'] !== 'identity')) return false;
    const length = h['content-length'] === undefined ? NaN : Number(h['content-length']);
    if (method === 'DELETE') {
      // A DELETE with a body goes through Express's body parser, which may refuse it.
      if (length > 0) return false;
      run(res, () => o.records.remove(events, id!));
      return true;
    }
    if (!JSON_TYPE.test(h['content-type'] ?? '') || !Number.isSafeInteger(length) || length > o.bodyBytes) return false;
    readBody(req, length, (body) => {
      let parsed: unknown;
      try {
        parsed = parseJson(body);
      } catch {
        return answer(res, 400, errorBody('the body is not valid JSON'));
      }
      run(res, () => (id === null ? o.records.add(events, parsed) : o.records.update(events, id, parsed)));
    });
    return true;
  };
}

/** The body, once it has all come; a request cut short is simply never answered (its socket is gone). */
function readBody(req: IncomingMessage, length: number, done: (body: Buffer) => void) {
  if (length === 0) return void req.resume().once('end', () => done(Buffer.alloc(0)));
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  req.on('data', (chunk: Buffer) => {
    // Node's parser stops at Content-Length, so this never overflows; checked all the same.
    if (at + chunk.length <= length) chunk.copy(body, at);
    at += chunk.length;
  });
  req.once('end', () => {
    if (at === length) done(body);
    else req.socket.destroy();
  });
}

/** As `express.json({strict: true})` parses: empty is {}, a BOM is skipped, only an object or array at the top. */
function parseJson(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (body.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
  return JSON.parse(text);
}
