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
import { resolveTokenVerifierOptions } from '../config/tokenVerifier.js';
import { markTokenVerifierPrototype, recordVerifierSettings } from '../config/tokenVerifierMark.js';
import type { TokenVerifierOptions } from '../types.js';

/** Milliseconds a JWKS URL has to answer before the request gets 503. */
const JWKS_TIMEOUT_MS = 5000;

// The public entry has always exported the option's type from here.
export type { TokenVerifierOptions } from '../types.js';

/**
 * Checks signed tokens and reads what they grant. Every token must be signed with an allowed
 * algorithm and carry `exp`; `nbf`, `iss` and `aud` are checked when set up. Failures reject
 * with a `TokenError` whose `code` says what to do (mint a new token, fix the audience...).
 */
export class TokenVerifier {
  // A true private field: `console.log(verifier)` must not print the secret's bytes.
  readonly #key: Promise<CryptoKey | KeyObject | JWK | Uint8Array> | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly issuer: string | string[] | undefined;
  private readonly audience: string | string[] | undefined;
  private readonly clockTolerance: number;
  /** Longest token accepted, in characters. */
  readonly maxTokenLength: number;
  private readonly remote: boolean;

  constructor(options: TokenVerifierOptions) {
    const settings = resolveTokenVerifierOptions(options);
    // getEventStreamSingleton compares two verifiers by this: what they accept, not their class.
    recordVerifierSettings(this, settings);
    this.clockTolerance = settings.clockTolerance;
    this.maxTokenLength = settings.maxTokenLength;
    this.issuer = settings.issuer;
    this.audience = settings.audience;
    this.algorithms = settings.algorithms;
    const source = settings.source;
    this.remote = source.kind === 'jwks';
    if (source.kind === 'secret') {
      this.#key = Promise.resolve(source.secret);
    } else if (source.kind === 'jwks') {
      this.#key = createRemoteJWKSet(source.url, { timeoutDuration: JWKS_TIMEOUT_MS });
    } else {
      this.#key = typeof source.key === 'string' ? importPem(source.key, this.algorithms) : Promise.resolve(source.key);
      // An unreadable PEM is a configuration error; surface it on first use, not as an unhandled rejection.
      this.#key.catch(() => undefined);
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
        typeof this.#key === 'function' ? await jwtVerify(token, this.#key, options) : await jwtVerify(token, await this.#key, options);
      payload = result.payload;
    } catch (err) {
      throw this.explain(err);
    }
    return grantOf(payload);
  }

  /**
   * A jose failure as a TokenError; anything unknown while keys are fetched is the key server's.
   * A key this server cannot use is its own configuration's fault, not the client's: it stays
   * an InvalidConfigError (a 500 and an incident, never a 401 that blames the token).
   */
  private explain(err: unknown): TokenError | InvalidConfigError {
    if (err instanceof TokenError || err instanceof InvalidConfigError) return err;
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

// The option readers of config/ (below auth/) recognise a verifier by this mark (tokens, createPublishHandler).
markTokenVerifierPrototype(TokenVerifier.prototype);

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
    throw new InvalidConfigError(
      `publicKey cannot verify any of the accepted algorithms (${algorithms.join(', ')}), got a key jose refuses for each (${err instanceof Error ? err.message : String(err)}): give the public key of the pair that signs the tokens, or list its algorithm in \`algorithms\``,
      { cause: err },
    );
  });
}
