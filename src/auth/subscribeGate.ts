import { InvalidConfigError, TokenError } from '../errors.js';
import { grantsAll } from './channelPattern.js';
import type { TokenGrant } from './claims.js';
import { TokenVerifier } from './TokenVerifier.js';
import { DEFAULT_TOKEN_COOKIE, DEFAULT_TOKEN_QUERY } from '../config/defaults.js';
import { tokenFromRequest, type TokenRequest, type TokenSources } from './tokenFromRequest.js';

/** The `tokens` option of an EventStream: who checks the tokens, and where requests bring them. */
export interface StreamTokenOptions extends TokenSources {
  /** The verifier (keys, issuer, audience, clock skew). */
  verifier: TokenVerifier;
}

/** What the request side holds: the verifier and the resolved places to look. */
export interface SubscribeGate {
  readonly verifier: TokenVerifier;
  readonly sources: Required<TokenSources>;
}

/** Resolves the `tokens` option (a verifier alone takes the default cookie and query names). */
export function subscribeGateOf(option: TokenVerifier | StreamTokenOptions | undefined): SubscribeGate | undefined {
  if (option === undefined) return undefined;
  if (option instanceof TokenVerifier) return { verifier: option, sources: { cookie: DEFAULT_TOKEN_COOKIE, query: DEFAULT_TOKEN_QUERY } };
  if (typeof option !== 'object' || option === null || !(option.verifier instanceof TokenVerifier)) {
    throw new InvalidConfigError('tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }');
  }
  return { verifier: option.verifier, sources: { cookie: sourceName(option.cookie, DEFAULT_TOKEN_COOKIE, 'cookie'), query: sourceName(option.query, DEFAULT_TOKEN_QUERY, 'query') } };
}

/**
 * The token gate of a stream, run after the route's channels and `authorize` decided: the
 * token must grant every one of those channels. It only ever narrows: a token cannot add a
 * channel, nor overrule `authorize`. Rejects with a `TokenError`.
 */
export async function checkSubscribeToken(gate: SubscribeGate, req: TokenRequest, channels: readonly string[]): Promise<TokenGrant> {
  const token = tokenFromRequest(req, gate.sources);
  if (token === undefined) {
    throw new TokenError('ERR_TOKEN_MISSING', 401, 'this stream needs a token (cookie, access_token query parameter or Authorization: Bearer)');
  }
  const grant = await gate.verifier.verify(token);
  // The message names no channel: with a channel function, the list is the server's, not the client's.
  if (!grantsAll(grant.subscribe, channels)) {
    throw new TokenError('ERR_TOKEN_SCOPE', 403, 'the token does not grant every channel of this stream');
  }
  return grant;
}

function sourceName(value: string | false | undefined, fallback: string, name: string): string | false {
  if (value === undefined) return fallback;
  if (value === false || (typeof value === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value))) return value;
  throw new InvalidConfigError(`tokens.${name} must be a cookie/parameter name or false, got ${JSON.stringify(value)}`);
}
