import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Every option `mintToken()` knows. */
export const KNOWN_MINT_TOKEN_OPTIONS: readonly string[] = [
  'subscribe', 'publish', 'secret', 'privateKey', 'algorithm', 'expiresIn', 'issuer', 'audience', 'subject', 'keyId',
];

const EXAMPLES = { issuer: "'https://app.example'", subject: "String(user.id)", keyId: "'key-1'", algorithm: "'ES256'" } as const;

/**
 * `mintToken(options)` read once from own keys, unknown keys refused (`subcribe` would drop the
 * grant, `expiresin` keep the default lifetime, `audiance` leave `aud` out) and the claims'
 * types checked (jose would throw a TypeError without a code, or write a numeric `kid`).
 * The channels, lifetime and key are checked by mintToken itself.
 */
export function mintTokenOptionsOf(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError(`mintToken needs options, got ${describe(options)}: e.g. mintToken({ secret, subscribe: ['news'] })`);
  }
  const input = ownOptions(options, 'mintToken options');
  assertKnownKeys(input, KNOWN_MINT_TOKEN_OPTIONS, 'mintToken option');
  for (const name of ['issuer', 'subject', 'keyId', 'algorithm'] as const) {
    const value = input[name];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new InvalidConfigError(`mintToken ${name} must be a non-empty string, got ${describe(value)}: e.g. ${name}: ${EXAMPLES[name]}`);
    }
  }
  const audience = input.audience;
  if (audience !== undefined && !isNames(audience)) {
    throw new InvalidConfigError(`mintToken audience must be a non-empty string or a non-empty list of them, got ${describe(audience)}: e.g. audience: 'https://app.example'`);
  }
  return input;
}

function isNames(value: unknown): boolean {
  if (typeof value === 'string') return value !== '';
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item !== '');
}
