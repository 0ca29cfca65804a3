import { isValidEventId, type LastEventId } from '../sse/eventId.js';
import { fromHeaderBytes } from './headerText.js';
import type { RequestView } from './RequestView.js';

/** Shared by every stream that starts without a position: one object, not one per request. */
const NO_POSITION: LastEventId = Object.freeze({ kind: 'none' });

/**
 * The client's resume point. The header is what EventSource sends on reconnect; the
 * `lastEventId` / `last_event_id` query parameters serve polyfills and Mercure-style clients
 * that cannot set headers. The header wins when both are there.
 */
export function readLastEventId(req: RequestView): LastEventId {
  const header = req.header('last-event-id');
  // Browsers send Last-Event-ID as UTF-8 bytes (HTML spec).
  const raw = header === undefined ? queryValue(req) : fromHeaderBytes(header);
  // An empty value is what a browser sends after an empty `id:` reset its last id: no position.
  if (raw === undefined || raw === '') return NO_POSITION;
  // Publishing refuses ids outside the same rule, so such a value was never handed out.
  return isValidEventId(raw) ? { kind: 'id', value: raw } : { kind: 'invalid' };
}

function queryValue(req: RequestView): string | undefined {
  const url = req.url;
  if (url === undefined || !url.includes('?')) return undefined;
  const params = new URLSearchParams(url.slice(url.indexOf('?')));
  return params.get('lastEventId') ?? params.get('last_event_id') ?? undefined;
}
