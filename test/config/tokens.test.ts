import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import { DEFAULT_CLOCK_TOLERANCE, DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY } from '../../src/config/defaults.js';
import { resolveTokenVerifierOptions } from '../../src/config/tokenVerifier.js';
import { subscribeGateOf } from '../../src/config/tokens.js';
import { configError } from './configError.js';

const SECRET = 's'.repeat(32);

describe('subscribeGateOf (the `tokens` option)', () => {
  const verifier = new TokenVerifier({ secret: SECRET });

  it('a verifier alone: the default cookie and query names; either may be renamed or turned off', () => {
    expect(subscribeGateOf(undefined)).toBeUndefined();
    expect(subscribeGateOf(verifier)?.sources).toEqual({ cookie: DEFAULT_TOKEN_COOKIE, query: DEFAULT_TOKEN_QUERY });
    expect([DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY]).toEqual(['gripstream_token', 'access_token']);
    expect(subscribeGateOf({ verifier, cookie: 'sse', query: false })?.sources).toEqual({ cookie: 'sse', query: false });
  });

  it('a name a cookie or a query cannot carry is refused, naming it', () => {
    expect(configError(() => subscribeGateOf({ verifier, cookie: 'a b' })).message).toBe(`tokens.cookie must be a cookie/parameter name or false, got "a b" (a string): e.g. cookie: false to stop looking there, or cookie: 'gripstream_token' (the default)`);
    expect(configError(() => subscribeGateOf({ verifier: {} as TokenVerifier })).message).toBe(
      'tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }, got an object: e.g. tokens: new TokenVerifier({ secret: process.env.TOKEN_SECRET })',
    );
  });
});

describe('resolveTokenVerifierOptions', () => {
  it('defaults: 30 s of clock skew, tokens up to 4096 characters, every HMAC algorithm for a secret', () => {
    const settings = resolveTokenVerifierOptions({ secret: SECRET });
    expect(settings.clockTolerance).toBe(DEFAULT_CLOCK_TOLERANCE);
    expect(settings.maxTokenLength).toBe(DEFAULT_MAX_TOKEN_LENGTH);
    expect([DEFAULT_CLOCK_TOLERANCE, DEFAULT_MAX_TOKEN_LENGTH]).toEqual([30, 4096]);
    expect(settings.algorithms).toEqual(['HS256', 'HS384', 'HS512']);
    expect(settings.source).toEqual({ kind: 'secret', secret: new TextEncoder().encode(SECRET) });
    expect(resolveTokenVerifierOptions({ jwksUrl: 'https://id.example/jwks.json' }).source).toEqual({ kind: 'jwks', url: new URL('https://id.example/jwks.json') });
  });

  it.each([
    [{}, 'TokenVerifier needs exactly one of secret, publicKey or jwksUrl, got 0'],
    [{ secret: SECRET, clockTolerance: 301 }, 'clockTolerance must be a number from 0 to 300, got 301: e.g. clockTolerance: 30 (the default)'],
    [{ secret: SECRET, maxTokenLength: 10 }, 'maxTokenLength must be a number from 64 to 65536, got 10: e.g. maxTokenLength: 4096 (the default)'],
    [{ secret: SECRET, issuer: '' }, `issuer must be a non-empty string or list of them, got "" (a string): e.g. issuer: 'https://app.example'`],
    [{ secret: SECRET, algorithms: ['RS256'] }, 'algorithms must be a non-empty list from HS256, HS384, HS512, got ["RS256"]'],
    [{ secret: 'short' }, 'secret must be at least 32 bytes (e.g. 32 random bytes, base64), got 5'],
    [{ jwksUrl: 'ftp://id.example/jwks' }, 'jwksUrl must be an http(s) URL, got "ftp://id.example/jwks"'],
  ])('%j is refused', (options, message) => {
    expect(configError(() => resolveTokenVerifierOptions(options)).message).toBe(message);
    // The public constructor reads its options through the same function.
    expect(configError(() => new TokenVerifier(options)).message).toBe(message);
  });
});
