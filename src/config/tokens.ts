import type { StreamTokenOptions, SubscribeGate } from '../auth/subscribeGate.js';
import { TokenVerifier } from '../auth/TokenVerifier.js';
import { InvalidConfigError } from '../errors.js';
import { DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY } from './defaults.js';

/** A cookie name and a query parameter name are both HTTP tokens (RFC 9110 §5.6.2). */
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The `tokens` option, resolved: a verifier alone takes the default cookie and query names. */
export function subscribeGateOf(option: TokenVerifier | StreamTokenOptions | undefined): SubscribeGate | undefined {
  if (option === undefined) return undefined;
  if (option instanceof TokenVerifier) return { verifier: option, sources: { cookie: DEFAULT_TOKEN_COOKIE, query: DEFAULT_TOKEN_QUERY } };
  if (typeof option !== 'object' || option === null || !(option.verifier instanceof TokenVerifier)) {
    throw new InvalidConfigError('tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }');
  }
  return { verifier: option.verifier, sources: { cookie: sourceName(option.cookie, DEFAULT_TOKEN_COOKIE, 'cookie'), query: sourceName(option.query, DEFAULT_TOKEN_QUERY, 'query') } };
}

function sourceName(value: string | false | undefined, fallback: string, name: string): string | false {
  if (value === undefined) return fallback;
  if (value === false || (typeof value === 'string' && TOKEN_NAME.test(value))) return value;
  throw new InvalidConfigError(`tokens.${name} must be a cookie/parameter name or false, got ${JSON.stringify(value)}`);
}
