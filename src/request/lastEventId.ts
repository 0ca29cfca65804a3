import type { RequestView } from './RequestView.js';

/** Longer than any id gripstream or a sane publisher makes; anything past it is garbage. */
export const MAX_LAST_EVENT_ID_LENGTH = 256;

// Ids can't contain CR, LF or NUL on the wire; other control characters mean a broken client.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export type LastEventId =
  | { kind: 'none' }
  | { kind: 'id'; value: string }
  | { kind: 'invalid' };

/**
 * The client's resume point. The header is what EventSource sends on reconnect; the
 * `lastEventId` / `last_event_id` query parameters serve polyfills and Mercure-style clients
 * that cannot set headers. The header wins when both are there.
 */
export function readLastEventId(req: RequestView): LastEventId {
  const header = req.header('last-event-id');
  const raw = header === undefined ? queryValue(req) : fromHeaderBytes(header);
  if (raw === undefined) return { kind: 'none' };
  if (raw.length > MAX_LAST_EVENT_ID_LENGTH || CONTROL_CHARACTERS.test(raw)) return { kind: 'invalid' };
  return raw === '' ? { kind: 'none' } : { kind: 'id', value: raw };
}

/**
 * Browsers send Last-Event-ID as UTF-8 bytes (HTML spec), which Node and fetch's Headers
 * present one byte per character. Decode when that round-trips; otherwise the client sent
 * Latin-1 itself (undici does), so keep the text as it came.
 */
function fromHeaderBytes(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  const decoded = Buffer.from(value, 'latin1').toString('utf8');
  return Buffer.from(decoded, 'utf8').toString('latin1') === value ? decoded : value;
}

function queryValue(req: RequestView): string | undefined {
  const url = req.url;
  if (url === undefined || !url.includes('?')) return undefined;
  const params = new URLSearchParams(url.slice(url.indexOf('?')));
  return params.get('lastEventId') ?? params.get('last_event_id') ?? undefined;
}
