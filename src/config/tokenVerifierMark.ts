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
// TokenVerifier puts this symbol on its prototype. It is a registry symbol (Symbol.for) so that
// the ESM and the CJS build, or two installed copies, recognise each other's verifiers: an app
// whose auth module is loaded through `require` and whose stream module through `import` holds
// one of each, and both verify the same way. `MARK in value` holds for a TokenVerifier of any
// copy and for an instance of a subclass.
const MARK = Symbol.for('gripstream.TokenVerifier');

// What a verifier checks (keys, algorithms, issuer, audience, limits), as plain data under a
// registry symbol, so that the singleton can tell two verifiers apart by what they accept.
const SETTINGS = Symbol.for('gripstream.TokenVerifier.settings');

/** Called once, by TokenVerifier, on its own prototype. */
export function markTokenVerifierPrototype(prototype: object): void {
  Object.defineProperty(prototype, MARK, { value: true });
}

/** True for a TokenVerifier of any copy of gripstream (or an instance of a subclass). */
export function isTokenVerifier(value: unknown): value is TokenVerifierLike {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && MARK in value;
}

/** Called by TokenVerifier's constructor: records what this verifier accepts (not enumerable, not copied). */
export function recordVerifierSettings(verifier: object, settings: object): void {
  Object.defineProperty(verifier, SETTINGS, { value: settings });
}

/** What a verifier accepts, as recorded by recordVerifierSettings; undefined for anything else. */
export function verifierSettingsOf(value: unknown): object | undefined {
  if (!isTokenVerifier(value)) return undefined;
  return (value as { [SETTINGS]?: object })[SETTINGS];
}
