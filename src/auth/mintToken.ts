import { SignJWT, importPKCS8, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { InvalidConfigError } from '../errors.js';
import { describeValue as describe } from '../describeValue.js';
import { mintTokenOptionsOf } from '../config/mintToken.js';
import { normalizeChannel } from '../channelName.js';
import { GRANT_CLAIM, MAX_PATTERNS } from './claims.js';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, hmacSecret } from '../config/keys.js';
import { DEFAULT_TOKEN_ALGORITHM, DEFAULT_TOKEN_LIFETIME } from '../config/defaults.js';

/** Longest lifetime `mintToken` accepts, in seconds (a day): these are meant to be short-lived. */
export const MAX_TOKEN_LIFETIME = 86_400;

/** What to put in a token, and what to sign it with (`secret` or `privateKey`). */
export interface MintTokenOptions {
  /** Channels (or `room-*` patterns) the bearer may listen to. */
  subscribe?: readonly string[];
  /** Channels (or patterns) the bearer may publish to through the HTTP publish handler. */
  publish?: readonly string[];
  /** HMAC secret (at least 32 bytes); signs with HS256 unless `algorithm` says otherwise. */
  secret?: string | Uint8Array;
  /** Private key: PEM PKCS#8 text (`-----BEGIN PRIVATE KEY-----`), a `CryptoKey`, a `KeyObject` or a JWK. Needs `algorithm`. */
  privateKey?: string | CryptoKey | KeyObject | JWK;
  /** Signature algorithm (default HS256 with `secret`; required with `privateKey`, e.g. ES256). */
  algorithm?: string;
  /** Seconds until the token expires (default 300, at most 86400). */
  expiresIn?: number;
  /** The `iss` claim. */
  issuer?: string;
  /** The `aud` claim. */
  audience?: string | readonly string[];
  /** The `sub` claim: who the token is for (a user id). */
  subject?: string;
  /** Key id (`kid` header), so a JWKS verifier picks the right key. */
  keyId?: string;
}

/**
 * Mints a short-lived signed token granting channels:
 * `{ "gripstream": { "subscribe": [...], "publish": [...] }, "exp", "iat", ... }`.
 */
export async function mintToken(given: MintTokenOptions): Promise<string> {
  const options = mintTokenOptionsOf(given) as MintTokenOptions;
  const grant: { subscribe?: string[]; publish?: string[] } = {};
  if (options.subscribe !== undefined) grant.subscribe = patterns(options.subscribe, 'subscribe');
  if (options.publish !== undefined) grant.publish = patterns(options.publish, 'publish');
  // Empty lists grant nothing either: refused like no lists at all.
  if ((grant.subscribe?.length ?? 0) === 0 && (grant.publish?.length ?? 0) === 0) {
    throw new InvalidConfigError(
      `mintToken needs \`subscribe\` or \`publish\` channels, got ${grant.subscribe === undefined && grant.publish === undefined ? 'neither' : 'only empty lists'}: a token granting nothing is useless; e.g. subscribe: ['news']`,
    );
  }
  const lifetime = options.expiresIn ?? DEFAULT_TOKEN_LIFETIME;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > MAX_TOKEN_LIFETIME) {
    throw new InvalidConfigError(`expiresIn must be whole seconds from 1 to ${MAX_TOKEN_LIFETIME}, got ${describe(lifetime)}: e.g. expiresIn: 300 (the default)`);
  }
  const { key, algorithm } = await signingKey(options);
  const jwt = new SignJWT({ [GRANT_CLAIM]: grant })
    .setProtectedHeader(options.keyId === undefined ? { alg: algorithm, typ: 'JWT' } : { alg: algorithm, typ: 'JWT', kid: options.keyId })
    .setIssuedAt()
    .setExpirationTime(`${lifetime}s`);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(typeof options.audience === 'string' ? options.audience : [...options.audience]);
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  return jwt.sign(key);
}

async function signingKey(options: MintTokenOptions): Promise<{ key: CryptoKey | KeyObject | JWK | Uint8Array; algorithm: string }> {
  if ((options.secret === undefined) === (options.privateKey === undefined)) {
    throw new InvalidConfigError('mintToken needs exactly one of `secret` or `privateKey`');
  }
  if (options.secret !== undefined) {
    const algorithm = options.algorithm ?? DEFAULT_TOKEN_ALGORITHM;
    if (!HMAC_ALGORITHMS.includes(algorithm)) {
      throw new InvalidConfigError(`with a secret, algorithm must be one of ${HMAC_ALGORITHMS.join(', ')}, got ${algorithm}`);
    }
    return { key: hmacSecret(options.secret), algorithm };
  }
  const algorithm = options.algorithm;
  if (algorithm === undefined || !PUBLIC_KEY_ALGORITHMS.includes(algorithm)) {
    throw new InvalidConfigError(`with a privateKey, algorithm must be one of ${PUBLIC_KEY_ALGORITHMS.join(', ')}, got ${String(algorithm)}`);
  }
  const privateKey = options.privateKey!;
  if (typeof privateKey !== 'string') return { key: privateKey, algorithm };
  try {
    return { key: await importPKCS8(privateKey, algorithm), algorithm };
  } catch (err) {
    throw new InvalidConfigError(`privateKey is not a PEM PKCS#8 private key for ${algorithm}`, { cause: err });
  }
}

function patterns(list: readonly string[], name: string): string[] {
  if (!Array.isArray(list) || list.length > MAX_PATTERNS) {
    throw new InvalidConfigError(`${name} must be a list of at most ${MAX_PATTERNS} channel names or patterns`);
  }
  // A pattern is a channel name in which `*` is a wildcard: the same name rules apply.
  return list.map((pattern: unknown) => normalizeChannel(pattern));
}
