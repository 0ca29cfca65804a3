import { InvalidConfigError } from '../errors.js';
import type { TokenSources } from '../types.js';
import { DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY } from './defaults.js';
import { isTokenVerifier, type TokenVerifierLike } from './tokenVerifierMark.js';

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
  const input = option as TokensInput | null;
  if (typeof input !== 'object' || input === null || !isTokenVerifier(input.verifier)) {
    throw new InvalidConfigError('tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }');
  }
  return { verifier: input.verifier, sources: { cookie: sourceName(input.cookie, DEFAULT_TOKEN_COOKIE, 'cookie'), query: sourceName(input.query, DEFAULT_TOKEN_QUERY, 'query') } };
}

function sourceName(value: unknown, fallback: string, name: string): string | false {
  if (value === undefined) return fallback;
  if (value === false || (typeof value === 'string' && TOKEN_NAME.test(value))) return value;
  throw new InvalidConfigError(`tokens.${name} must be a cookie/parameter name or false, got ${JSON.stringify(value)}`);
}
