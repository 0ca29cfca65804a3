import type { SubscribeGate } from '../config/tokens.js';
import { TokenError } from '../errors.js';
import { grantsAll } from './channelPattern.js';
import type { TokenGrant } from './claims.js';
import type { TokenVerifier } from './TokenVerifier.js';
import { tokenFromRequest, type TokenRequest, type TokenSources } from './tokenFromRequest.js';

/** The `tokens` option of an EventStream: who checks the tokens, and where requests bring them. */
export interface StreamTokenOptions extends TokenSources {
  /** The verifier (keys, issuer, audience, clock skew). */
  verifier: TokenVerifier;
}

// The `tokens` option, resolved by config/tokens.ts: what the request side holds.
export type { SubscribeGate } from '../config/tokens.js';

/**
 * The token gate of a stream, run after the route's channels and `authorize` decided: the
 * token must grant every one of those channels. It only ever narrows: a token cannot add a
 * channel, nor overrule `authorize`. Rejects with a `TokenError`.
 */
export async function checkSubscribeToken(gate: SubscribeGate, req: TokenRequest, channels: readonly string[]): Promise<TokenGrant> {
  const token = tokenFromRequest(req, gate.sources);
  if (token === undefined) {
    throw new TokenError('ERR_TOKEN_MISSING', 401, `this stream needs a token (${placesOf(gate.sources)})`);
  }
  const grant = await gate.verifier.verify(token);
  // The message names no channel: with a channel function, the list is the server's, not the client's.
  if (!grantsAll(grant.subscribe, channels)) {
    throw new TokenError('ERR_TOKEN_SCOPE', 403, 'the token does not grant every channel of this stream');
  }
  return grant;
}

/** Where this stream looks for a token, as the 401 tells the client: only the places it reads. */
function placesOf(sources: SubscribeGate['sources']): string {
  const places = [
    ...(sources.cookie === false ? [] : [`${sources.cookie} cookie`]),
    ...(sources.query === false ? [] : [`${sources.query} query parameter`]),
    'Authorization: Bearer',
  ];
  return places.join(', ');
}
