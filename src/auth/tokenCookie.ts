import { InvalidConfigError } from '../errors.js';
import { DEFAULT_COOKIE_PATH, DEFAULT_COOKIE_SAME_SITE, DEFAULT_TOKEN_COOKIE } from '../config/defaults.js';

/** Attributes of the token cookie; the defaults are the recommended ones. */
export interface TokenCookieOptions {
  /** Cookie name (default `gripstream_token`; must match the stream's `tokens.cookie`). */
  name?: string;
  /** Path the browser sends it to (default `/`); narrow it to your event routes. */
  path?: string;
  /** Seconds the browser keeps it (default: none, a session cookie); match the token's lifetime. */
  maxAge?: number;
  /** `Secure` (default true): sent over HTTPS only. Browsers treat http://localhost as secure. */
  secure?: boolean;
  /** `SameSite` (default `Strict`); `Lax` if the stream opens from a page reached by a cross-site link. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** `Domain`; left out by default, so only the exact host gets it. */
  domain?: string;
}

const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const ATTRIBUTE = /^[\x21-\x3a\x3c-\x7e]+$/;

/**
 * The `Set-Cookie` value that hands a browser its token: `HttpOnly` always (page scripts never
 * see it, so an XSS cannot lift it), `Secure` and `SameSite=Strict` by default.
 */
export function tokenCookie(token: string, options: TokenCookieOptions = {}): string {
  const name = options.name ?? DEFAULT_TOKEN_COOKIE;
  if (!ATTRIBUTE.test(name) || name.includes('=')) throw new InvalidConfigError(`cookie name ${JSON.stringify(name)} is not a valid cookie name`);
  if (!COOKIE_VALUE.test(token)) throw new InvalidConfigError('the token holds characters a cookie value cannot carry');
  const parts = [`${name}=${token}`, `Path=${attribute(options.path ?? DEFAULT_COOKIE_PATH, 'path')}`, 'HttpOnly'];
  if (options.secure !== false) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite ?? DEFAULT_COOKIE_SAME_SITE}`);
  if (options.maxAge !== undefined) {
    if (!Number.isSafeInteger(options.maxAge) || options.maxAge < 0) throw new InvalidConfigError(`maxAge must be whole seconds, got ${String(options.maxAge)}`);
    parts.push(`Max-Age=${options.maxAge}`);
  }
  if (options.domain !== undefined) parts.push(`Domain=${attribute(options.domain, 'domain')}`);
  return parts.join('; ');
}

function attribute(value: string, name: string): string {
  if (typeof value !== 'string' || !ATTRIBUTE.test(value)) throw new InvalidConfigError(`cookie ${name} ${JSON.stringify(value)} is not valid`);
  return value;
}
