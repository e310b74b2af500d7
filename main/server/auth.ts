import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenAuth {
  /**
   * Whether a `Remote-Token` header value is the calendar's token. Given the connection it came
   * on, a token that connection already proved is taken again without hashing it.
   */
  checkToken(token: unknown, connection?: object): boolean;
  /** A session key for one page's socket: valid for every reconnect, useless for REST. */
  issueKey(): string;
  checkKey(key: unknown): boolean;
  /**
   * The secret that read-only feed URLs are signed with. It derives from the token, so a new
   * token (a key change) revokes every feed URL along with every invite.
   */
  feedSecret(): Buffer;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Token auth with stateless socket keys: a key is a nonce signed with the token, so it
 * survives reconnects and restarts of the same host, costs no memory per page, and dies
 * with the token. The long-lived token itself never goes into a socket URL.
 */
export function createTokenAuth(token: string): TokenAuth {
  if (typeof token !== 'string' || token.length < 8) throw new TypeError('the token must be a string of at least 8 characters');
  const expected = digest(token);
  const sign = (nonce: string) => createHmac('sha256', token).update(`socket-key:${nonce}`).digest('base64url');
  const feed = createHmac('sha256', token).update('lan-scheduler/feed').digest();
  // Per kept-alive connection: the token it sent and that was good. Compared as a plain string,
  // which is safe only because the one who could learn from its timing already sent the token.
  const proved = new WeakMap<object, string>();
  return {
    feedSecret: () => feed,
    checkToken(candidate, connection) {
      if (typeof candidate !== 'string') return false;
      if (connection && proved.get(connection) === candidate) return true;
      const good = timingSafeEqual(digest(candidate), expected);
      if (good && connection) proved.set(connection, candidate);
      return good;
    },
    issueKey() {
      const nonce = randomBytes(12).toString('base64url');
      return `k.${nonce}.${sign(nonce)}`;
    },
    checkKey(key) {
      if (typeof key !== 'string' || key.length > 200) return false;
      const [tag, nonce, mac] = key.split('.');
      if (tag !== 'k' || !nonce || !mac) return false;
      const good = Buffer.from(sign(nonce));
      const given = Buffer.from(mac);
      return given.length === good.length && timingSafeEqual(given, good);
    },
  };
}

/** Token auth whose token can be replaced (a key change): from then on only the new one, and keys signed with it, are accepted. */
export function createSwitchableAuth(token: string): TokenAuth & { swap(token: string): void } {
  let current = createTokenAuth(token);
  return {
    checkToken: (candidate, connection) => current.checkToken(candidate, connection),
    issueKey: () => current.issueKey(),
    checkKey: (key) => current.checkKey(key),
    feedSecret: () => current.feedSecret(),
    swap(next) {
      current = createTokenAuth(next);
    },
  };
}
