import type { TokenError } from '../errors.js';

/** The realm named in every `WWW-Authenticate` challenge. */
const REALM = 'gripstream';

/** An HTTP answer to a refused token: status, headers and a one-line JSON body. */
export interface TokenRefusal {
  status: number;
  headers: Record<string, string>;
  /** `{"code":"ERR_TOKEN_EXPIRED","message":"..."}`, one line. */
  body: string;
}

/**
 * RFC 6750 §3: a challenge with `error` for a token that was sent (`invalid_token`: get a new
 * one; `insufficient_scope`: this token will never do; `invalid_request`: the request itself is
 * wrong) and none when no token came at all. The body repeats the code for fetch clients.
 */
export function tokenRefusal(err: TokenError): TokenRefusal {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  const error = challengeError(err);
  if (err.status === 503) headers['Retry-After'] = '5';
  else if (error === undefined) headers['WWW-Authenticate'] = `Bearer realm="${REALM}"`;
  else headers['WWW-Authenticate'] = `Bearer realm="${REALM}", error="${error}", error_description="${quotable(err.message)}"`;
  return { status: err.status, headers, body: JSON.stringify({ code: err.code, message: err.message }) };
}

function challengeError(err: TokenError): string | undefined {
  switch (err.code) {
    case 'ERR_TOKEN_MISSING':
    case 'ERR_TOKEN_KEYS_UNAVAILABLE':
      return undefined;
    case 'ERR_TOKEN_CONFLICT':
      return 'invalid_request';
    case 'ERR_TOKEN_SCOPE':
      return 'insufficient_scope';
    default:
      return 'invalid_token';
  }
}

/** error_description allows printable ASCII but `"` and `\` (RFC 6750 §3). */
function quotable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ');
}
