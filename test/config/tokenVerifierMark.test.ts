import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import { isTokenVerifier } from '../../src/config/tokenVerifierMark.js';
import { resolveEventStreamOptions } from '../../src/config/eventStream.js';
import { publishHandlerOptionsOf } from '../../src/config/publishHandler.js';
import { subscribeGateOf } from '../../src/config/tokens.js';
import { configError } from './configError.js';

const SECRET = 'm'.repeat(32);
const verifier = new TokenVerifier({ secret: SECRET });
const publisher = { publishEvents: () => Promise.resolve() };

// config/ sits below auth/ and recognises a TokenVerifier by a mark on its prototype: it must
// answer what `instanceof TokenVerifier` answered when config/ imported the class (and, being a
// registry symbol, also true for a verifier of the other build: test/config/tokenVerifier-options).
describe('isTokenVerifier answers as instanceof TokenVerifier', () => {
  class OwnVerifier extends TokenVerifier {}
  const cases: Array<[string, unknown]> = [
    ['a TokenVerifier', verifier],
    ['a subclass instance', new OwnVerifier({ secret: SECRET })],
    ['an object made from its prototype', Object.create(TokenVerifier.prototype)],
    ['an object with a verify method', { verify: () => Promise.resolve({}), maxTokenLength: 4096 }],
    ['the class itself', TokenVerifier],
    ['the options of one', { secret: SECRET }],
    ['a function', () => undefined],
    ['a string', 'verifier'],
    ['null', null],
    ['undefined', undefined],
  ];

  it.each(cases)('%s', (_, value) => {
    expect(isTokenVerifier(value)).toBe(value instanceof TokenVerifier);
  });

  it('a look-alike is refused by every option that takes a verifier, with the same message as before', () => {
    const lookAlike = { verify: () => Promise.resolve({}) };
    expect(configError(() => subscribeGateOf(lookAlike)).message).toBe('tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }, got an object: e.g. tokens: new TokenVerifier({ secret: process.env.TOKEN_SECRET })');
    expect(configError(() => resolveEventStreamOptions({ tokens: { verifier: lookAlike } })).message).toBe(
      'tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }, got an object: e.g. tokens: new TokenVerifier({ secret: process.env.TOKEN_SECRET })',
    );
    expect(configError(() => publishHandlerOptionsOf(publisher, { verifier: lookAlike })).message).toBe(
      'createPublishHandler needs { verifier: new TokenVerifier(...) }: publishing is never open to anyone',
    );
  });

  it('a subclass instance is taken as the verifier itself', () => {
    const own = new OwnVerifier({ secret: SECRET });
    expect(subscribeGateOf(own)?.verifier).toBe(own);
    expect(publishHandlerOptionsOf(publisher, { verifier: own }).verifier).toBe(own);
  });

  it('config/ leaves the in-memory idempotency store to the handler: a given store is passed through', () => {
    expect(publishHandlerOptionsOf(publisher, { verifier }).idempotency).toEqual({ store: undefined, windowMs: 300_000 });
    const store = { claim: () => ({ done: new Set<string>(), pending: false }), commit: () => undefined, release: () => undefined };
    expect(publishHandlerOptionsOf(publisher, { verifier, idempotency: { store } }).idempotency?.store).toBe(store);
  });
});
