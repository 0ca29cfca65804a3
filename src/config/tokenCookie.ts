import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { DEFAULT_COOKIE_PATH, DEFAULT_COOKIE_SAME_SITE, DEFAULT_TOKEN_COOKIE } from './defaults.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Every option `tokenCookie()` knows. */
export const KNOWN_TOKEN_COOKIE_OPTIONS: readonly string[] = ['name', 'path', 'maxAge', 'secure', 'sameSite', 'domain'];

/** What a `Set-Cookie` for the token is built from, checked: a cookie a browser stores as meant. */
export interface TokenCookieSettings {
  readonly name: string;
  readonly token: string;
  readonly path: string;
  readonly maxAge: number | undefined;
  readonly secure: boolean;
  readonly sameSite: 'Strict' | 'Lax' | 'None';
  readonly domain: string | undefined;
}

const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;
/** RFC 9110 token: what a cookie name may be. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTRIBUTE = /^[\x21-\x3a\x3c-\x7e]+$/;
const SAME_SITE = ['Strict', 'Lax', 'None'] as const;

/**
 * `tokenCookie(token, options)`'s arguments. Refused: what a browser would drop or misread
 * (SameSite=None without Secure, a `__Host-` cookie with a Domain), and unknown keys (`samesite`
 * would leave the default in place without a word).
 */
export function tokenCookieSettingsOf(token: unknown, options: unknown): TokenCookieSettings {
  if (typeof token !== 'string' || token === '') {
    throw new InvalidConfigError(`tokenCookie needs the token (a non-empty string), got ${describe(token)}: pass what mintToken() resolved to, e.g. tokenCookie(await mintToken({ ... }))`);
  }
  if (!COOKIE_VALUE.test(token)) {
    // The token itself is not shown: it is a credential.
    throw new InvalidConfigError(`tokenCookie: the token holds characters a cookie value cannot carry (space, ';', ',', '"' or '\\'), got ${token.length} characters: pass a JWT as mintToken() makes it`);
  }
  const input = options === undefined ? Object.create(null) as Record<string, unknown> : ownOptions(options, 'tokenCookie options');
  assertKnownKeys(input, KNOWN_TOKEN_COOKIE_OPTIONS, 'tokenCookie option');
  const name = input.name ?? DEFAULT_TOKEN_COOKIE;
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
    throw new InvalidConfigError(`tokenCookie name must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~), got ${describe(name)}: e.g. name: '${DEFAULT_TOKEN_COOKIE}' (the default)`);
  }
  const path = input.path ?? DEFAULT_COOKIE_PATH;
  if (typeof path !== 'string' || !path.startsWith('/') || !ATTRIBUTE.test(path)) {
    throw new InvalidConfigError(`tokenCookie path must start with '/' and hold no ';', space or control character, got ${describe(path)}: e.g. path: '/events' (a browser ignores any other)`);
  }
  const secure = input.secure ?? true;
  if (typeof secure !== 'boolean') throw new InvalidConfigError(`tokenCookie secure must be true or false, got ${describe(secure)}: leave it out (true) unless testing over plain http`);
  const sameSite = input.sameSite ?? DEFAULT_COOKIE_SAME_SITE;
  if (!(SAME_SITE as readonly unknown[]).includes(sameSite)) {
    throw new InvalidConfigError(`tokenCookie sameSite must be 'Strict', 'Lax' or 'None' (as written), got ${describe(sameSite)}: e.g. sameSite: 'Strict' (the default)`);
  }
  if (sameSite === 'None' && !secure) {
    throw new InvalidConfigError("tokenCookie sameSite 'None' needs Secure, got secure: false: browsers drop a SameSite=None cookie without Secure; use sameSite: 'Lax' over plain http");
  }
  const maxAge = input.maxAge;
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0)) {
    throw new InvalidConfigError(`tokenCookie maxAge must be whole seconds (0 or more), got ${describe(maxAge)}: match the token's lifetime, e.g. maxAge: 300`);
  }
  const domain = input.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !ATTRIBUTE.test(domain))) {
    throw new InvalidConfigError(`tokenCookie domain must be a host name, got ${describe(domain)}: e.g. domain: 'example.com', or leave it out (this host only)`);
  }
  assertPrefixRules(name, secure, path, domain);
  return { name, token, path, maxAge, secure, sameSite: sameSite as TokenCookieSettings['sameSite'], domain };
}

/** RFC 6265bis §4.1.3: browsers refuse a `__Secure-` cookie without Secure, and a `__Host-` one unless also Path=/ and no Domain. */
function assertPrefixRules(name: string, secure: boolean, path: string, domain: string | undefined): void {
  const lower = name.toLowerCase();
  if ((lower.startsWith('__secure-') || lower.startsWith('__host-')) && !secure) {
    throw new InvalidConfigError(`tokenCookie name ${JSON.stringify(name)} needs Secure, got secure: false: browsers drop such a cookie; rename it or keep secure`);
  }
  if (lower.startsWith('__host-') && (path !== '/' || domain !== undefined)) {
    throw new InvalidConfigError(`tokenCookie name ${JSON.stringify(name)} needs path '/' and no domain, got path ${JSON.stringify(path)}${domain === undefined ? '' : ` and domain ${JSON.stringify(domain)}`}: browsers drop such a cookie; use a name without __Host- to narrow the path`);
  }
}
