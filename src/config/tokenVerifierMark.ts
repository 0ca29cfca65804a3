import type { TokenGrant } from '../types.js';

/**
 * What the stream and publish sides use of a TokenVerifier. config/ sits below auth/, so the
 * settings it returns name the verifier by this shape, not by the class.
 */
export interface TokenVerifierLike {
  /** Verifies `token` and answers what it grants; rejects with a `TokenError` saying why not. */
  verify(token: string): Promise<TokenGrant>;
}

// The option readers must tell a TokenVerifier from anything else without importing the class.
// TokenVerifier puts this symbol on its prototype; `MARK in value` then holds exactly when
// TokenVerifier.prototype is on value's prototype chain: what `instanceof TokenVerifier` tested,
// so the same values pass and fail, with the same messages at the same moment.
const MARK = Symbol('gripstream.TokenVerifier');

/** Called once, by TokenVerifier, on its own prototype. */
export function markTokenVerifierPrototype(prototype: object): void {
  Object.defineProperty(prototype, MARK, { value: true });
}

/** True for a TokenVerifier (or an instance of a subclass), as `instanceof TokenVerifier` was. */
export function isTokenVerifier(value: unknown): value is TokenVerifierLike {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && MARK in value;
}
