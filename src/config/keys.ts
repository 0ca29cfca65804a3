import { InvalidConfigError } from '../errors.js';

// Pure checks of key material, read by both sides of a token: TokenVerifier's options
// (config/tokenVerifier.ts) and mintToken (auth/), which imports them from here.

/** Algorithms a shared secret signs with. */
export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];
/** Algorithms a key pair signs with. `none` is in neither list: an unsigned token is never accepted. */
export const PUBLIC_KEY_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
];

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash; 32 bytes covers HS256. */
const MIN_SECRET_BYTES = 32;

/** A shared secret as bytes, refused when short enough to be guessed offline from one token. */
export function hmacSecret(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < MIN_SECRET_BYTES) {
    throw new InvalidConfigError(
      `secret must be at least ${MIN_SECRET_BYTES} bytes (e.g. 32 random bytes, base64), got ${bytes instanceof Uint8Array ? bytes.byteLength : typeof secret}`,
    );
  }
  return bytes;
}
