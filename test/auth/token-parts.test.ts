import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelMatches, mintToken, tokenCookie, TokenError, TokenVerifier } from '../../src/index.js';
import { tokenFromRequest } from '../../src/auth/tokenFromRequest.js';

// The small pieces of token handling: channel patterns, the cookie a browser gets, and where
// a request's token is looked for.

describe('channelMatches', () => {
  it('matches exact names and * wildcards', () => {
    expect(channelMatches('room-1', 'room-1')).toBe(true);
    expect(channelMatches('room-1', 'room-10')).toBe(false);
    expect(channelMatches('room-*', 'room-')).toBe(true);
    expect(channelMatches('room-*', 'room-42')).toBe(true);
    expect(channelMatches('room-*', 'rooms')).toBe(false);
    expect(channelMatches('*', 'anything')).toBe(true);
    expect(channelMatches('user-*-inbox', 'user-7-inbox')).toBe(true);
    expect(channelMatches('user-*-inbox', 'user-7-outbox')).toBe(false);
    expect(channelMatches('a*a', 'a')).toBe(false);
  });

  it('agrees with a regular expression on random patterns (fixed seed)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 8 });
    const pattern = fc.array(fc.oneof(text, fc.constant('*')), { maxLength: 5 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(pattern, text, (p, channel) => {
        const regex = new RegExp(`^${p.split('*').map((part) => part.replace(/[-]/g, '\\-')).join('.*')}$`, 's');
        expect(channelMatches(p, channel)).toBe(regex.test(channel));
      }),
      { seed: 23, numRuns: 2000 },
    );
  });
});

describe('tokenCookie', () => {
  it('is HttpOnly, Secure and SameSite=Strict by default', () => {
    expect(tokenCookie('a.b.c')).toBe('gripstream_token=a.b.c; Path=/; HttpOnly; Secure; SameSite=Strict');
    expect(tokenCookie('a.b.c', { path: '/events', maxAge: 300, sameSite: 'Lax', name: 'rt' })).toBe('rt=a.b.c; Path=/events; HttpOnly; Secure; SameSite=Lax; Max-Age=300');
  });

  it('refuses values that would break the header', () => {
    expect(() => tokenCookie('a;b')).toThrow(/cannot carry/);
    expect(() => tokenCookie('x', { path: '/a;Domain=evil' })).toThrow(/must start with '\/' and hold no ';'/);
  });
});

describe('tokenFromRequest', () => {
  const sources = { cookie: 'gripstream_token', query: 'access_token' } as const;
  const request = (headers: Record<string, string>, url = '/e') => ({ url, header: (name: string) => headers[name] });

  it('finds the token in the header (any case of Bearer), the cookie (quoted or not) or the query', () => {
    expect(tokenFromRequest(request({ authorization: 'bearer t1' }), sources)).toBe('t1');
    expect(tokenFromRequest(request({ cookie: 'a=1; gripstream_token="t2"' }), sources)).toBe('t2');
    expect(tokenFromRequest(request({}, '/e?x=1&access_token=t3'), sources)).toBe('t3');
    expect(tokenFromRequest(request({}, '/e?access_token=t3'), { ...sources, query: false })).toBeUndefined();
    expect(tokenFromRequest(request({ cookie: 'other_token=t4' }), sources)).toBeUndefined();
  });

  it('refuses two different tokens and a malformed Bearer header, and leaves other schemes alone', () => {
    const conflict = (): unknown => tokenFromRequest(request({ authorization: 'Bearer a' }, '/e?access_token=b'), sources);
    expect(conflict).toThrow(TokenError);
    expect(conflict).toThrow(/different tokens/);
    expect(() => tokenFromRequest(request({ authorization: 'Bearer two words' }), sources)).toThrow(/not "Bearer <token>"/);
    // Another scheme belongs to the app (Basic auth in front of it): not a token, not an error.
    expect(tokenFromRequest(request({ authorization: 'Basic dXNlcjpwYXNz', cookie: 'gripstream_token=t5' }), sources)).toBe('t5');
  });

  it('counts every cookie and query parameter of the name: two different ones conflict in either order', () => {
    // Browsers send two cookies of one name when their Paths differ; the first must not win.
    for (const cookie of ['gripstream_token=a; gripstream_token=b', 'gripstream_token=b; gripstream_token=a']) {
      expect(() => tokenFromRequest(request({ cookie }), sources)).toThrow(/different tokens/);
    }
    expect(() => tokenFromRequest(request({}, '/e?access_token=a&access_token=b'), sources)).toThrow(/different tokens/);
    expect(tokenFromRequest(request({ cookie: 'gripstream_token=a; gripstream_token=a' }, '/e?access_token=a&access_token=a'), sources)).toBe('a');
  });
});

describe('TokenVerifier#verify', () => {
  const secret = 'a-test-secret-of-at-least-32-bytes!!';

  it('answers the grant of a minted token', async () => {
    const token = await mintToken({ secret, subscribe: ['room-*'], publish: ['room-1'], subject: 'user-1', expiresIn: 60 });
    const grant = await new TokenVerifier({ secret }).verify(token);
    expect(grant).toMatchObject({ subscribe: ['room-*'], publish: ['room-1'], subject: 'user-1' });
    expect(grant.expiresAt - Date.now() / 1000).toBeGreaterThan(55);
  });

  it('rejects with a TokenError carrying code and status, never the token', async () => {
    const token = await mintToken({ secret: 'b'.repeat(32), subscribe: ['a'] });
    const err = (await new TokenVerifier({ secret }).verify(token).catch((e: unknown) => e)) as TokenError;
    expect(err).toBeInstanceOf(TokenError);
    expect([err.code, err.status]).toEqual(['ERR_TOKEN_SIGNATURE', 401]);
    expect(err.message).not.toContain(token);
  });

  it('refuses minting a token that grants nothing, lives too long, or names a bad channel', async () => {
    await expect(mintToken({ secret })).rejects.toThrow(/subscribe` or `publish/);
    await expect(mintToken({ secret, subscribe: ['a'], expiresIn: 7 * 86_400 })).rejects.toThrow(/expiresIn/);
    await expect(mintToken({ secret, subscribe: ['a,b'] })).rejects.toThrow(/channel name/);
  });
});
