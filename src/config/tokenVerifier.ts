import type { CryptoKey, JWK, KeyObject } from 'jose';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, hmacSecret } from './keys.js';
import { InvalidConfigError } from '../errors.js';
import type { TokenVerifierOptions } from '../types.js';
import { DEFAULT_CLOCK_TOLERANCE, DEFAULT_MAX_TOKEN_LENGTH } from './defaults.js';

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
 * `new TokenVerifier(options)`'s options. A PEM public key is only imported (asynchronously)
 * by the verifier: an unreadable one surfaces at the first verify.
 */
export function resolveTokenVerifierOptions(options: TokenVerifierOptions): TokenVerifierSettings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('TokenVerifier needs options: { secret } or { publicKey } or { jwksUrl }');
  }
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
    source = { kind: 'publicKey', key: options.publicKey! };
    algorithms = allowed(options.algorithms, PUBLIC_KEY_ALGORITHMS);
  }
  return { source, algorithms, issuer, audience, clockTolerance, maxTokenLength };
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
  throw new InvalidConfigError(`${name} must be a non-empty string or list of them, got ${JSON.stringify(value)}`);
}

function boundedNumber(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidConfigError(`${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
