import { TokenError } from '../errors.js';
import type { TokenSources } from '../types.js';

// A public option type (part of the `tokens` option), defined in types.ts where config/ reads it.
export type { TokenSources } from '../types.js';

/** The little of a request the token lookup reads. */
export interface TokenRequest {
  header(name: string): string | undefined;
  readonly url: string | undefined;
}

/**
 * The request's token, from `Authorization: Bearer`, the cookie or the query (an `Authorization`
 * header of another scheme is left alone). Several places
 * carrying the same token is fine (a browser sends its cookie along with a fetch that also sets
 * the header); two different tokens are refused (400): picking one would let a stale cookie
 * silently decide over a fresh header, or the other way round. Undefined when there is none.
 */
export function tokenFromRequest(req: TokenRequest, sources: Required<TokenSources>): string | undefined {
  const found = new Set<string>();
  // Another scheme (Basic in front of the app, a session scheme of its own) is not ours to judge.
  const authorization = req.header('authorization');
  if (authorization !== undefined && BEARER_SCHEME.test(authorization)) found.add(bearerToken(authorization)!);
  if (sources.cookie !== false) {
    // Every occurrence counts: a browser sends two cookies of one name when their Paths
    // differ, and the first one winning would be the same silent pick as above.
    for (const cookie of cookieValues(req.header('cookie'), sources.cookie)) found.add(cookie);
  }
  if (sources.query !== false) {
    for (const query of queryValues(req.url, sources.query)) found.add(query);
  }
  if (found.size > 1) {
    throw new TokenError(
      'ERR_TOKEN_CONFLICT',
      400,
      'the request carries different tokens (Authorization header, cookie, query): send one',
    );
  }
  return found.values().next().value;
}

const BEARER_SCHEME = /^\s*bearer(\s|$)/i;

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new TokenError('ERR_TOKEN_MALFORMED', 401, 'the Authorization header is not "Bearer <token>"');
  }
  return match[1];
}

function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    // Some cookie writers quote the value (RFC 6265 allows it).
    values.push(value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value);
  }
  return values;
}

function queryValues(url: string | undefined, name: string): string[] {
  if (url === undefined || !url.includes('?')) return [];
  return new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll(name);
}
