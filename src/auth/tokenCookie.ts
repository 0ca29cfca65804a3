import { tokenCookieSettingsOf } from '../config/tokenCookie.js';

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

/**
 * The `Set-Cookie` value that hands a browser its token: `HttpOnly` always (page scripts never
 * see it, so an XSS cannot lift it), `Secure` and `SameSite=Strict` by default. Unknown keys and
 * cookies a browser would drop (SameSite=None without Secure, `__Host-` rules) are refused.
 */
export function tokenCookie(token: string, options?: TokenCookieOptions): string {
  const cookie = tokenCookieSettingsOf(token, options);
  const parts = [`${cookie.name}=${cookie.token}`, `Path=${cookie.path}`, 'HttpOnly'];
  if (cookie.secure) parts.push('Secure');
  parts.push(`SameSite=${cookie.sameSite}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.domain !== undefined) parts.push(`Domain=${cookie.domain}`);
  return parts.join('; ');
}
