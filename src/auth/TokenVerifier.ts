import {
  createRemoteJWKSet,
  errors as joseErrors,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose';
import { InvalidConfigError, TokenError } from '../errors.js';
import { grantOf, type TokenGrant } from './claims.js';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, hmacSecret } from './keys.js';
import { DEFAULT_CLOCK_TOLERANCE, DEFAULT_MAX_TOKEN_LENGTH } from '../config/defaults.js';

/** The largest clock skew accepted as an option: past this a "short-lived" token is not. */
export const MAX_CLOCK_TOLERANCE = 300;
/** Milliseconds a JWKS URL has to answer before the request gets 503. */
const JWKS_TIMEOUT_MS = 5000;

/**
 * How tokens are checked. Give exactly one key source: `secret` (HMAC, HS256/384/512),
 * `publicKey` (RSA, EC or Ed25519: PEM `SPKI` text, a `CryptoKey`, a `KeyObject` or a JWK),
 * or `jwksUrl` (tokens minted elsewhere; keys fetched and cached, picked by `kid`).
 */
export interface TokenVerifierOptions {
  /** HMAC secret shared with whoever mints the tokens: at least 32 bytes. */
  secret?: string | Uint8Array;
  /** Public key of an asymmetric signer. PEM text must be SPKI (`-----BEGIN PUBLIC KEY-----`). */
  publicKey?: string | CryptoKey | KeyObject | JWK;
  /** URL of a JSON Web Key Set (e.g. your identity provider's `/.well-known/jwks.json`). */
  jwksUrl?: string | URL;
  /** Accepted `iss` values; when given, a token without a matching `iss` is refused. */
  issuer?: string | readonly string[];
  /** Accepted `aud` values; when given, a token without a matching `aud` is refused. */
  audience?: string | readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf` (default 30, at most 300). */
  clockTolerance?: number;
  /** Signature algorithms accepted; by default every HMAC one for `secret`, every asymmetric one otherwise. Never `none`. */
  algorithms?: readonly string[];
  /** Longest token accepted, in characters (default 4096); longer ones are refused unread. */
  maxTokenLength?: number;
}

/**
 * Checks signed tokens and reads what they grant. Every token must be signed with an allowed
 * algorithm and carry `exp`; `nbf`, `iss` and `aud` are checked when set up. Failures reject
 * with a `TokenError` whose `code` says what to do (mint a new token, fix the audience...).
 */
export class TokenVerifier {
  private readonly key: Promise<CryptoKey | KeyObject | JWK | Uint8Array> | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly issuer: string | string[] | undefined;
  private readonly audience: string | string[] | undefined;
  private readonly clockTolerance: number;
  /** Longest token accepted, in characters. */
  readonly maxTokenLength: number;
  private readonly remote: boolean;

  constructor(options: TokenVerifierOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError('TokenVerifier needs options: { secret } or { publicKey } or { jwksUrl }');
    }
    const sources = [options.secret, options.publicKey, options.jwksUrl].filter((value) => value !== undefined).length;
    if (sources !== 1) {
      throw new InvalidConfigError(`TokenVerifier needs exactly one of secret, publicKey or jwksUrl, got ${sources}`);
    }
    this.clockTolerance = boundedNumber(options.clockTolerance, DEFAULT_CLOCK_TOLERANCE, 0, MAX_CLOCK_TOLERANCE, 'clockTolerance');
    this.maxTokenLength = boundedNumber(options.maxTokenLength, DEFAULT_MAX_TOKEN_LENGTH, 64, 65_536, 'maxTokenLength');
    this.issuer = listOption(options.issuer, 'issuer');
    this.audience = listOption(options.audience, 'audience');
    this.remote = options.jwksUrl !== undefined;
    if (options.secret !== undefined) {
      this.key = Promise.resolve(hmacSecret(options.secret));
      this.algorithms = allowed(options.algorithms, HMAC_ALGORITHMS);
    } else if (options.jwksUrl !== undefined) {
      this.key = createRemoteJWKSet(jwksUrlOf(options.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
      this.algorithms = allowed(options.algorithms, PUBLIC_KEY_ALGORITHMS);
    } else {
      const publicKey = options.publicKey!;
      this.algorithms = allowed(options.algorithms, PUBLIC_KEY_ALGORITHMS);
      this.key = typeof publicKey === 'string' ? importPem(publicKey, this.algorithms) : Promise.resolve(publicKey);
      // An unreadable PEM is a configuration error; surface it on first use, not as an unhandled rejection.
      this.key.catch(() => undefined);
    }
  }

  /** Verifies `token` and answers what it grants; rejects with a `TokenError` saying why not. */
  async verify(token: string): Promise<TokenGrant> {
    if (typeof token !== 'string' || token === '') throw new TokenError('ERR_TOKEN_MISSING', 401, 'no token was given');
    if (token.length > this.maxTokenLength) {
      throw new TokenError('ERR_TOKEN_TOO_LARGE', 401, `the token is ${token.length} characters long; at most ${this.maxTokenLength} are accepted`);
    }
    const options = {
      algorithms: this.algorithms,
      issuer: this.issuer,
      audience: this.audience,
      clockTolerance: this.clockTolerance,
      requiredClaims: ['exp'],
    };
    let payload: Record<string, unknown>;
    try {
      const result =
        typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, await this.key, options);
      payload = result.payload;
    } catch (err) {
      throw this.explain(err);
    }
    return grantOf(payload);
  }

  /** A jose failure as a TokenError; anything unknown while keys are fetched is the key server's. */
  private explain(err: unknown): TokenError {
    if (err instanceof TokenError) return err;
    if (err instanceof joseErrors.JWTExpired) {
      return new TokenError('ERR_TOKEN_EXPIRED', 401, 'the token has expired: get a new one', { cause: err });
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) return claimFailure(err);
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      return new TokenError('ERR_TOKEN_ALGORITHM', 401, `the token's algorithm is not accepted; accepted: ${this.algorithms.join(', ')}`, { cause: err });
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
      return new TokenError('ERR_TOKEN_SIGNATURE', 401, 'the token is not signed by a key this server trusts', { cause: err });
    }
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      return new TokenError('ERR_TOKEN_SIGNATURE', 401, 'the token names no key id (kid) and several keys could have signed it', { cause: err });
    }
    if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JOSENotSupported) {
      return new TokenError('ERR_TOKEN_MALFORMED', 401, 'the token is not a well-formed signed JWT', { cause: err });
    }
    if (this.remote) {
      return new TokenError('ERR_TOKEN_KEYS_UNAVAILABLE', 503, 'the signing keys could not be fetched; try again later', { cause: err });
    }
    return new TokenError('ERR_TOKEN_MALFORMED', 401, 'the token could not be read', { cause: err });
  }
}

function claimFailure(err: InstanceType<typeof joseErrors.JWTClaimValidationFailed>): TokenError {
  if (err.claim === 'nbf') {
    return new TokenError('ERR_TOKEN_NOT_YET_VALID', 401, 'the token is not valid yet (nbf is in the future)', { cause: err });
  }
  const what =
    err.claim === 'aud' ? 'its audience (aud) is not this server' :
    err.claim === 'iss' ? 'its issuer (iss) is not trusted here' :
    err.reason === 'missing' ? `it has no "${err.claim}" claim` :
    `its "${err.claim}" claim is not valid`;
  return new TokenError('ERR_TOKEN_CLAIM', 401, `the token is refused: ${what}`, { cause: err });
}

function importPem(pem: string, algorithms: readonly string[]): Promise<CryptoKey> {
  // SPKI text does not say which algorithm it is for; jose needs one, and any in the key's
  // family verifies: try each allowed one until the key imports.
  return algorithms.reduce<Promise<CryptoKey>>(
    (previous, alg) => previous.catch(() => importSPKI(pem, alg, { extractable: false })),
    Promise.reject(new InvalidConfigError('publicKey is not a PEM SPKI public key of an accepted algorithm')),
  ).catch((err: unknown) => {
    throw new InvalidConfigError('publicKey is not a PEM SPKI public key ("-----BEGIN PUBLIC KEY-----") of an accepted algorithm', { cause: err });
  });
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
