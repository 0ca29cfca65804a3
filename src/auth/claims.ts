import { TokenError } from '../errors.js';
import type { TokenGrant } from '../types.js';

// What a token grants is public (verify's answer); defined in types.ts, beside the options that use it.
export type { TokenGrant } from '../types.js';

/** The JWT claim gripstream reads its grants from. */
export const GRANT_CLAIM = 'gripstream';

/** Patterns a single token may carry per list: each is matched against every requested channel. */
export const MAX_PATTERNS = 100;

/** A channel pattern is at most this long (a channel name is at most 255 bytes). */
const MAX_PATTERN_LENGTH = 255;

/** Reads the grant out of a verified payload; a claim of the wrong shape refuses the token. */
export function grantOf(payload: Record<string, unknown>): TokenGrant {
  const claim = payload[GRANT_CLAIM];
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) {
    throw claimError(`the token has no "${GRANT_CLAIM}" claim object ({ "subscribe": [...], "publish": [...] })`);
  }
  const { subscribe, publish } = claim as Record<string, unknown>;
  return {
    subscribe: patternList(subscribe, 'subscribe'),
    publish: patternList(publish, 'publish'),
    subject: typeof payload.sub === 'string' ? payload.sub : undefined,
    expiresAt: payload.exp as number,
  };
}

function patternList(value: unknown, name: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_PATTERNS || !value.every(isPattern)) {
    throw claimError(`"${GRANT_CLAIM}.${name}" must be a list of at most ${MAX_PATTERNS} channel names or patterns`);
  }
  return value as string[];
}

function isPattern(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_PATTERN_LENGTH;
}

function claimError(message: string): TokenError {
  return new TokenError('ERR_TOKEN_CLAIM', 401, message);
}
