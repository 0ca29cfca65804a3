import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { InvalidConfigError, mintToken, tokenCookie, type MintTokenOptions, type TokenCookieOptions } from '../../src/index.js';
import { configError } from '../config/configError.js';

// mintToken and tokenCookie ignored typos and wrote values browsers drop (findings 06, 07).

const SECRET = 's'.repeat(32);

async function mintError(options: unknown): Promise<InvalidConfigError> {
  const err = await mintToken(options as MintTokenOptions).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(err).toBeInstanceOf(InvalidConfigError);
  return err as InvalidConfigError;
}

describe('mintToken options (finding 07)', () => {
  it.each<[unknown, string | RegExp]>([
    [{ secret: SECRET, subcribe: ['news'] }, 'unknown mintToken option "subcribe" (did you mean "subscribe"?)'],
    [{ secret: SECRET, subscribe: ['news'], expiresin: 60 }, 'unknown mintToken option "expiresin" (did you mean "expiresIn"?)'],
    [{ secret: SECRET, subscribe: ['news'], audiance: 'app' }, 'unknown mintToken option "audiance" (did you mean "audience"?)'],
    [{ secret: SECRET, subscribe: ['news'], issuer: 5 }, /^mintToken issuer must be a non-empty string, got 5/],
    [{ secret: SECRET, subscribe: ['news'], subject: 42 }, /^mintToken subject must be a non-empty string, got 42/],
    [{ secret: SECRET, subscribe: ['news'], audience: [5] }, /^mintToken audience must be a non-empty string or a non-empty list of them/],
    [{ secret: SECRET, subscribe: ['news'], keyId: 5 }, /^mintToken keyId must be a non-empty string, got 5/],
    [{ secret: SECRET, subscribe: [], publish: [] }, /^mintToken needs `subscribe` or `publish` channels, got only empty lists/],
    [{ secret: SECRET, subscribe: ['news'], expiresIn: '300' }, /^expiresIn must be whole seconds from 1 to 86400, got "300" \(a string\)/],
  ])('%j is refused with InvalidConfigError', async (options, message) => {
    const err = await mintError(options);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('a throwing getter rejects with InvalidConfigError', async () => {
    const options = { subscribe: ['news'], get secret(): string { throw new Error('vault sealed'); } };
    expect((await mintError(options)).message).toMatch(/^mintToken options cannot be read: vault sealed/);
  });

  it('correct options still mint what they say', async () => {
    const token = await mintToken({ secret: SECRET, subscribe: ['news'], audience: 'app', issuer: 'me', subject: 'u1', keyId: 'k1', expiresIn: 60 });
    expect(decodeJwt(token)).toMatchObject({ aud: 'app', iss: 'me', sub: 'u1' });
    expect(decodeProtectedHeader(token).kid).toBe('k1');
  });
});

describe('tokenCookie (finding 06)', () => {
  it.each<[unknown, unknown, RegExp]>([
    [undefined, undefined, /^tokenCookie needs the token \(a non-empty string\), got undefined/],
    [5, undefined, /^tokenCookie needs the token \(a non-empty string\), got 5/],
    ['', undefined, /^tokenCookie needs the token/],
    ['t', { sameSite: 'None', secure: false }, /^tokenCookie sameSite 'None' needs Secure/],
    ['t', { sameSite: 'Nonee' }, /^tokenCookie sameSite must be 'Strict', 'Lax' or 'None' \(as written\), got "Nonee"/],
    ['t', { sameSite: 'lax' }, /^tokenCookie sameSite must be/],
    ['t', { sameSite: 5 }, /^tokenCookie sameSite must be/],
    ['t', { name: '__Host-t', path: '/events' }, /^tokenCookie name "__Host-t" needs path '\/' and no domain/],
    ['t', { name: '__Host-t', domain: 'example.com' }, /^tokenCookie name "__Host-t" needs path '\/' and no domain/],
    ['t', { name: '__Secure-t', secure: false }, /^tokenCookie name "__Secure-t" needs Secure/],
    ['t', { path: 'events' }, /^tokenCookie path must start with '\/'/],
    ['t', { maxage: 300 }, /^unknown tokenCookie option "maxage" \(did you mean "maxAge"\?\)/],
    ['t', { samesite: 'Lax' }, /^unknown tokenCookie option "samesite" \(did you mean "sameSite"\?\)/],
    ['t', null, /^tokenCookie options must be an object, got null/],
    ['t', { name: 5 }, /^tokenCookie name must be a cookie name/],
    ['t', { maxAge: '300' }, /^tokenCookie maxAge must be whole seconds \(0 or more\), got "300" \(a string\)/],
  ])('tokenCookie(%j, %j) is refused', (token, options, message) => {
    expect(configError(() => tokenCookie(token as string, options as TokenCookieOptions)).message).toMatch(message);
  });

  it('good cookies are written as before', () => {
    expect(tokenCookie('abc')).toBe('gripstream_token=abc; Path=/; HttpOnly; Secure; SameSite=Strict');
    expect(tokenCookie('abc', { name: '__Host-t', maxAge: 300, sameSite: 'None' })).toBe('__Host-t=abc; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=300');
    expect(tokenCookie('abc', { secure: false, sameSite: 'Lax', path: '/events', domain: 'example.com' })).toBe('gripstream_token=abc; Path=/events; HttpOnly; SameSite=Lax; Domain=example.com');
  });
});
