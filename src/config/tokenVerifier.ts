import { createPublicKey, KeyObject } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { describeValue as describe } from '../describeValue.js';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, hmacSecret } from './keys.js';
import { InvalidConfigError } from '../errors.js';
import type { TokenVerifierOptions } from '../types.js';
import { DEFAULT_CLOCK_TOLERANCE, DEFAULT_MAX_TOKEN_LENGTH } from './defaults.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** The largest clock skew accepted as an option: past this a "short-lived" token is not. */
export const MAX_CLOCK_TOLERANCE = 300;
/** Bounds of `maxTokenLength`: below 64 no signed JWT fits; above 64 KiB no header carries it. */
const TOKEN_LENGTH_RANGE = [64, 65_536] as const;

/** Where a TokenVerifier's keys come from: exactly one source. */
export type KeySource =
  | { readonly kind: 'secret'; readonly secret: Uint8Array }
  | { readonly kind: 'jwks'; readonly url: URL }
  | { readonly kind: 'publicKey'; readonly key: string | CryptoKey | KeyObject | JWK };

/** A TokenVerifier's options, checked and defaulted. */
export interface TokenVerifierSettings {
  readonly source: KeySource;
  /** The algorithms accepted, never empty and never `none`. */
  readonly algorithms: string[];
  readonly issuer: string | string[] | undefined;
  readonly audience: string | string[] | undefined;
  readonly clockTolerance: number;
  readonly maxTokenLength: number;
}

/**
 * `new TokenVerifier(options)`'s options, read once from own keys; unknown keys are refused.
 */
export function resolveTokenVerifierOptions(given: TokenVerifierOptions): TokenVerifierSettings {
  if (typeof given !== 'object' || given === null) {
    throw new InvalidConfigError(`TokenVerifier needs options, got ${describe(given)}: pass { secret } or { publicKey } or { jwksUrl }`);
  }
  // Own keys, read once; a typo (`audiance`) would otherwise verify tokens minted for anyone.
  const options = ownOptions(given, 'TokenVerifier options') as TokenVerifierOptions;
  assertKnownKeys(options as Record<string, unknown>, KNOWN_TOKEN_VERIFIER_OPTIONS, 'TokenVerifier option');
  const sources = [options.secret, options.publicKey, options.jwksUrl].filter((value) => value !== undefined).length;
  if (sources !== 1) {
    throw new InvalidConfigError(`TokenVerifier needs exactly one of secret, publicKey or jwksUrl, got ${sources}`);
  }
  const clockTolerance = boundedNumber(options.clockTolerance, DEFAULT_CLOCK_TOLERANCE, 0, MAX_CLOCK_TOLERANCE, 'clockTolerance');
  const maxTokenLength = boundedNumber(options.maxTokenLength, DEFAULT_MAX_TOKEN_LENGTH, ...TOKEN_LENGTH_RANGE, 'maxTokenLength');
  const issuer = listOption(options.issuer, 'issuer');
  const audience = listOption(options.audience, 'audience');
  let source: KeySource;
  let algorithms: string[];
  if (options.secret !== undefined) {
    source = { kind: 'secret', secret: hmacSecret(options.secret) };
    algorithms = allowed(options.algorithms, HMAC_ALGORITHMS);
  } else if (options.jwksUrl !== undefined) {
    source = { kind: 'jwks', url: jwksUrlOf(options.jwksUrl) };
    algorithms = allowed(options.algorithms, PUBLIC_KEY_ALGORITHMS);
  } else {
    source = { kind: 'publicKey', key: publicKeyOf(options.publicKey) };
    algorithms = allowed(options.algorithms, PUBLIC_KEY_ALGORITHMS);
  }
  return { source, algorithms, issuer, audience, clockTolerance, maxTokenLength };
}

/** Every option `new TokenVerifier()` knows. */
export const KNOWN_TOKEN_VERIFIER_OPTIONS: readonly string[] = [
  'secret', 'publicKey', 'jwksUrl', 'issuer', 'audience', 'clockTolerance', 'algorithms', 'maxTokenLength',
];

const PUBLIC_KEY_FIX = 'give the public half of the signing key pair: PEM SPKI text ("-----BEGIN PUBLIC KEY-----"), a public KeyObject or CryptoKey, or a public JWK';

/**
 * The key checked as far as can be done at once: a PEM is parsed here (an unreadable one would
 * otherwise fail every token with a 401 that blames the client), and a private key is refused
 * (it verifies, but it must not sit on the verifying side).
 */
function publicKeyOf(key: unknown): string | CryptoKey | KeyObject | JWK {
  if (typeof key === 'string') {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      throw new InvalidConfigError(`publicKey is a private key (PEM "PRIVATE KEY"), got that instead of a public key: ${PUBLIC_KEY_FIX}`);
    }
    try {
      if (createPublicKey(key).asymmetricKeyType === undefined) throw new Error('not an asymmetric key');
    } catch (err) {
      throw new InvalidConfigError(`publicKey cannot be read as a PEM public key (${err instanceof Error ? err.message : String(err)}), got ${describe(key.slice(0, 40))}${key.length > 40 ? '…' : ''}: ${PUBLIC_KEY_FIX}`, { cause: err });
    }
    return key;
  }
  if (key instanceof KeyObject) {
    if (key.type !== 'public') throw new InvalidConfigError(`publicKey must be a public KeyObject, got a ${key.type} one: ${PUBLIC_KEY_FIX}`);
    return key;
  }
  if (typeof key === 'object' && key !== null && 'algorithm' in key && 'type' in key && 'usages' in key) {
    const type = (key as { type: unknown }).type;
    if (type !== 'public') throw new InvalidConfigError(`publicKey must be a public CryptoKey, got a ${String(type)} one: ${PUBLIC_KEY_FIX}`);
    return key as CryptoKey;
  }
  if (typeof key === 'object' && key !== null && !Array.isArray(key)) {
    const jwk = key as JWK;
    if (typeof jwk.kty !== 'string' || !['RSA', 'EC', 'OKP'].includes(jwk.kty)) {
      throw new InvalidConfigError(`publicKey as a JWK needs "kty" of RSA, EC or OKP, got ${describe(jwk.kty)}: ${PUBLIC_KEY_FIX}`);
    }
    if (jwk.d !== undefined) throw new InvalidConfigError(`publicKey is a private JWK (it has "d"), got that instead of a public key: ${PUBLIC_KEY_FIX}`);
    return jwk;
  }
  throw new InvalidConfigError(`publicKey must be a public key, got ${describe(key)}: ${PUBLIC_KEY_FIX}`);
}

function jwksUrlOf(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw new InvalidConfigError(`jwksUrl must be an absolute http(s) URL, got ${JSON.stringify(String(value))}`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidConfigError(`jwksUrl must be an http(s) URL, got ${JSON.stringify(url.href)}`);
  }
  return url;
}

function allowed(given: readonly string[] | undefined, family: readonly string[]): string[] {
  if (given === undefined) return [...family];
  if (!Array.isArray(given) || given.length === 0 || !given.every((alg) => family.includes(alg))) {
    throw new InvalidConfigError(`algorithms must be a non-empty list from ${family.join(', ')}, got ${JSON.stringify(given)}`);
  }
  return [...given];
}

function listOption(value: string | readonly string[] | undefined, name: string): string | string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item !== '')) return [...value];
  throw new InvalidConfigError(`${name} must be a non-empty string or list of them, got ${describe(value)}: e.g. ${name}: 'https://app.example'`);
}

function boundedNumber(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidConfigError(`${name} must be a number from ${min} to ${max}, got ${describe(value)}: e.g. ${name}: ${fallback} (the default)`);
  }
  return value;
}
