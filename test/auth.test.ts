// Token checks: the REST token, the socket keys signed with it, and a switched token.
import { describe, expect, it } from 'vitest';
import { createSwitchableAuth, createTokenAuth } from '../main/server/auth.js';

const TOKEN = 'auth-test-token-0123';

describe('token auth', () => {
  it('takes the token, and on a connection that proved it takes it again; never another token', () => {
    const auth = createTokenAuth(TOKEN);
    const connection = {};
    expect(auth.checkToken(TOKEN)).toBe(true);
    expect(auth.checkToken('nope-nope-nope')).toBe(false);
    expect(auth.checkToken(undefined, connection)).toBe(false);
    expect(auth.checkToken('nope-nope-nope', connection)).toBe(false);
    expect(auth.checkToken(TOKEN, connection)).toBe(true);
    expect(auth.checkToken(TOKEN, connection)).toBe(true);
    // Proved on one connection: a wrong token on it is still refused, and another connection proves its own.
    expect(auth.checkToken(`${TOKEN}x`, connection)).toBe(false);
    expect(auth.checkToken('nope-nope-nope', {})).toBe(false);
  });

  it('forgets what connections proved when the token is switched', () => {
    const auth = createSwitchableAuth(TOKEN);
    const connection = {};
    expect(auth.checkToken(TOKEN, connection)).toBe(true);
    const key = auth.issueKey();
    auth.swap('the-next-token-4567');
    expect(auth.checkToken(TOKEN, connection)).toBe(false);
    expect(auth.checkKey(key)).toBe(false);
    expect(auth.checkToken('the-next-token-4567', connection)).toBe(true);
  });
});
