import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';
import type { TokenSources } from '../types.js';
import { DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY } from './defaults.js';
import { isTokenVerifier, type TokenVerifierLike } from './tokenVerifierMark.js';

/** Every key of the `tokens` option's object form. */
export const KNOWN_TOKENS_OPTIONS: readonly string[] = ['verifier', 'cookie', 'query'];

/** A cookie name and a query parameter name are both HTTP tokens (RFC 9110 §5.6.2). */
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What the request side holds: the verifier and the resolved places to look. */
export interface SubscribeGate {
  readonly verifier: TokenVerifierLike;
  readonly sources: Required<TokenSources>;
}

/** The `tokens` option as given: a TokenVerifier, or one with the places to look (StreamTokenOptions). */
interface TokensInput {
  verifier?: unknown;
  cookie?: unknown;
  query?: unknown;
}

/** The `tokens` option, resolved: a verifier alone takes the default cookie and query names. */
export function subscribeGateOf(option: unknown): SubscribeGate | undefined {
  if (option === undefined) return undefined;
  if (isTokenVerifier(option)) return { verifier: option, sources: { cookie: DEFAULT_TOKEN_COOKIE, query: DEFAULT_TOKEN_QUERY } };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw notTokens(option);
  // Own keys, read once; a typo (`querry: false`) would otherwise leave tokens in URLs honoured.
  const input = ownOptions(option, 'tokens') as TokensInput;
  // Without a verifier it is not the object form at all (TokenVerifier options given directly, a look-alike).
  if (!isTokenVerifier(input.verifier)) throw notTokens(input.verifier === undefined ? option : input.verifier);
  assertKnownKeys(input as Record<string, unknown>, KNOWN_TOKENS_OPTIONS, 'tokens option');
  return { verifier: input.verifier, sources: { cookie: sourceName(input.cookie, DEFAULT_TOKEN_COOKIE, 'cookie'), query: sourceName(input.query, DEFAULT_TOKEN_QUERY, 'query') } };
}

function notTokens(received: unknown): InvalidConfigError {
  return new InvalidConfigError(
    `tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }, got ${describe(received)}: e.g. tokens: new TokenVerifier({ secret: process.env.TOKEN_SECRET })`,
  );
}

function sourceName(value: unknown, fallback: string, name: string): string | false {
  if (value === undefined) return fallback;
  if (value === false || (typeof value === 'string' && TOKEN_NAME.test(value))) return value;
  throw new InvalidConfigError(`tokens.${name} must be a cookie/parameter name or false, got ${describe(value)}: e.g. ${name}: false to stop looking there, or ${name}: '${fallback}' (the default)`);
}
