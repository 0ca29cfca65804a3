import { InvalidConfigError, type RefusalStatus, type StreamRefusedError } from '../errors.js';
import type { StreamRefusal } from '../types.js';

// What `authorize` may answer is a public option type, defined in types.ts where config/ reads it.
export type { AuthorizeResult, StreamRefusal } from '../types.js';

/** Longer reasons are cut: the body of a refusal is one short line, never a dump of state. */
export const MAX_REASON_LENGTH = 200;

/** Each status's reason when the app gives none. Neither names a channel. */
export const DEFAULT_REASONS: Readonly<Record<RefusalStatus, string>> = {
  401: 'authentication required',
  403: 'not authorized for these channels',
};

/** The challenge sent with a 401 when the refusal names none (RFC 9110 §15.5.2 requires one). */
export const DEFAULT_CHALLENGE = 'Bearer';

/**
 * Turns what `authorize` (or a gate) answered into a refusal, or `undefined` when the stream
 * may open. Anything but `true`, `false` or a well-formed refusal is the app's mistake: it is
 * thrown as `InvalidConfigError` (the route answers 500), never taken as a yes.
 */
export function refusalOf(result: unknown, source = 'authorize'): StreamRefusal | undefined {
  if (result === true) return undefined;
  if (result === false) return { status: 403, reason: DEFAULT_REASONS[403] };
  if (isRefusalShape(result)) return cleanRefusal(result.status, result.reason, result.wwwAuthenticate);
  throw new InvalidConfigError(
    `${source} returned ${describe(result)}; it must return true, false, or { status: 401 | 403, reason: string } ` +
      '(or a Promise of one): return false (or a refusal) to refuse, true to allow',
  );
}

/** The refusal a thrown `StreamRefusedError` stands for. */
export function refusalOfError(err: StreamRefusedError): StreamRefusal {
  return cleanRefusal(err.status, err.reason, err.wwwAuthenticate);
}

/** The response headers of a refusal: a 401 always carries a challenge. */
export function refusalHeaders(refusal: StreamRefusal): Record<string, string> | undefined {
  return refusal.status === 401 ? { 'WWW-Authenticate': refusal.wwwAuthenticate ?? DEFAULT_CHALLENGE } : undefined;
}

/** A reason as it may go on the wire: one line, bounded, never empty. */
export function oneLine(reason: string, fallback: string): string {
  const line = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (line === '') return fallback;
  return line.length <= MAX_REASON_LENGTH ? line : `${line.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

function cleanRefusal(status: RefusalStatus, reason: string, wwwAuthenticate: string | undefined): StreamRefusal {
  const cleaned: StreamRefusal = { status, reason: oneLine(reason, DEFAULT_REASONS[status]) };
  // A challenge is a header value: a line break in it would be refused by the server (a 500).
  if (status === 401 && typeof wwwAuthenticate === 'string' && wwwAuthenticate.trim() !== '') {
    return { ...cleaned, wwwAuthenticate: wwwAuthenticate.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() };
  }
  return cleaned;
}

function isRefusalShape(value: unknown): value is StreamRefusal {
  if (typeof value !== 'object' || value === null) return false;
  const { status, reason } = value as { status?: unknown; reason?: unknown };
  return (status === 401 || status === 403) && typeof reason === 'string';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  try {
    return JSON.stringify(value).slice(0, 80);
  } catch {
    return 'an object';
  }
}
