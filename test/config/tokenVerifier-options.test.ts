import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, getEventStreamSingleton, mintToken, TokenVerifier } from '../../src/index.js';
import { isTokenVerifier } from '../../src/config/tokenVerifierMark.js';
import { runCleanups, defer } from '../support/cleanup.js';
import { getOnce, startHttp } from '../support/server.js';
import { configError } from './configError.js';

// TokenVerifier and the `tokens` option read their options as EventStream does: own keys,
// once, unknown ones refused (findings 05, 17, 04, 03, 27).

afterEach(runCleanups);

const SECRET = 's'.repeat(32);
const OTHER = 'o'.repeat(32);

describe('TokenVerifier options (finding 05)', () => {
  it('audience given: a token for another audience never opens a stream', async () => {
    const es = new EventStream({ history: false, tokens: new TokenVerifier({ secret: SECRET, audience: 'app' }) });
    defer(() => es.close());
    const { url } = await startHttp(es('news'));
    const foreign = await mintToken({ secret: SECRET, subscribe: ['*'], audience: 'other-app' });
    const refused = await getOnce(`${url}/?access_token=${foreign}`);
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).not.toMatch(/event-stream/);
  });

  it.each([
    [{ secret: SECRET, audiance: 'app' }, 'unknown TokenVerifier option "audiance" (did you mean "audience"?)'],
    [{ secret: SECRET, aud: 'app' }, 'unknown TokenVerifier option "aud" (known: secret, publicKey, jwksUrl, issuer, audience, clockTolerance, algorithms, maxTokenLength)'],
    [{ secret: SECRET, Issuer: 'me' }, 'unknown TokenVerifier option "Issuer" (did you mean "issuer"?)'],
  ])('a misspelled key %j is refused', (options, message) => {
    expect(configError(() => new TokenVerifier(options as never)).message).toBe(message);
  });

  it('an inherited secret is not read; a throwing getter is an InvalidConfigError', () => {
    expect(configError(() => new TokenVerifier(Object.create({ secret: SECRET }) as never)).message).toMatch(/^TokenVerifier options must be a plain object/);
    const throwing = { get secret(): string { throw new Error('vault sealed'); } };
    expect(configError(() => new TokenVerifier(throwing)).message).toMatch(/^TokenVerifier options cannot be read: vault sealed/);
  });
});

describe('TokenVerifier publicKey (finding 04)', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it('a public PEM, KeyObject or JWK is accepted', () => {
    expect(() => new TokenVerifier({ publicKey: publicPem })).not.toThrow();
    expect(() => new TokenVerifier({ publicKey: pair.publicKey })).not.toThrow();
    expect(() => new TokenVerifier({ publicKey: pair.publicKey.export({ format: 'jwk' }) })).not.toThrow();
  });

  it.each([
    ['not a pem', /^publicKey cannot be read as a PEM public key/],
    [publicPem.split('\n').slice(1).join('\n'), /^publicKey cannot be read as a PEM public key/],
    [privatePem, /^publicKey is a private key/],
    [{}, /^publicKey as a JWK needs "kty" of RSA, EC or OKP, got undefined/],
  ])('garbage is refused at construction: %#', (publicKey, message) => {
    expect(configError(() => new TokenVerifier({ publicKey: publicKey as string })).message).toMatch(message);
  });

  it('a private KeyObject or JWK is refused', () => {
    expect(configError(() => new TokenVerifier({ publicKey: pair.privateKey as never })).message).toMatch(/^publicKey must be a public KeyObject, got a private one/);
    expect(configError(() => new TokenVerifier({ publicKey: pair.privateKey.export({ format: 'jwk' }) })).message).toMatch(/^publicKey is a private JWK/);
  });
});

describe('tokens option (finding 17)', () => {
  const verifier = new TokenVerifier({ secret: SECRET });
  it.each([
    [{ verifier, Query: false }, 'unknown tokens option "Query" (did you mean "query"?)'],
    [{ verifier, querry: false }, 'unknown tokens option "querry" (did you mean "query"?)'],
    [{ verifier, header: false }, 'unknown tokens option "header" (known: verifier, cookie, query)'],
  ])('a misspelled key %j is refused', (tokens, message) => {
    expect(configError(() => new EventStream({ history: false, tokens: tokens as never })).message).toBe(message);
  });
});

describe('the singleton compares verifiers by what they accept (finding 03)', () => {
  it('another secret is refused, naming tokens; the same secret (a dev reload) is not', () => {
    const key = `verifier-${Math.random()}`;
    const first = getEventStreamSingleton({ history: false, tokens: new TokenVerifier({ secret: SECRET, audience: 'admin' }) }, key);
    defer(() => first.close());
    expect(getEventStreamSingleton({ history: false, tokens: new TokenVerifier({ secret: SECRET, audience: 'admin' }) }, key)).toBe(first);
    expect(configError(() => getEventStreamSingleton({ history: false, tokens: new TokenVerifier({ secret: OTHER, audience: 'admin' }) }, key)).message).toMatch(/different: tokens/);
    expect(configError(() => getEventStreamSingleton({ history: false, tokens: new TokenVerifier({ secret: SECRET, audience: 'public' }) }, key)).message).toMatch(/different: tokens/);
  });
});

describe('a verifier from the other build (finding 27)', () => {
  it('is recognised by a registry symbol both builds share', () => {
    // What the CJS build's prototype carries, made here without loading it.
    const other = Object.create({ [Symbol.for('gripstream.TokenVerifier')]: true, verify: async () => ({ subscribe: [], publish: [] }) }) as object;
    expect(isTokenVerifier(other)).toBe(true);
  });
});

describe('messages that said less than they knew (finding 24)', () => {
  it("a string number shows its type: clockTolerance '30'", () => {
    expect(configError(() => new TokenVerifier({ secret: SECRET, clockTolerance: '30' as never })).message).toBe(
      'clockTolerance must be a number from 0 to 300, got "30" (a string): e.g. clockTolerance: 30 (the default)',
    );
  });

  it('with query: false, the 401 does not tell the client to use the query parameter', async () => {
    const es = new EventStream({ history: false, tokens: { verifier: new TokenVerifier({ secret: SECRET }), query: false } });
    defer(() => es.close());
    const { url } = await startHttp(es('news'));
    const refused = await getOnce(url);
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('gripstream_token cookie, Authorization: Bearer');
    expect(refused.body).not.toContain('query parameter');
  });
});

describe('a logged verifier', () => {
  it('does not print its secret', async () => {
    const { inspect } = await import('node:util');
    const shown = inspect(new TokenVerifier({ secret: 'q'.repeat(32) }), { depth: 5 });
    expect(shown).not.toMatch(/113/);
    expect(JSON.stringify(new TokenVerifier({ secret: 'q'.repeat(32) }))).not.toMatch(/key/);
  });
});
