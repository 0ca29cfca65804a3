import { utf8Length } from '../sse/utf8.js';
import type { StreamResponse } from '../types.js';

/** Refuses a request with a status and a one-line reason (plain text unless `contentType` says otherwise). */
export function refuse(
  res: StreamResponse,
  status: number,
  reason: string,
  headers?: Readonly<Record<string, string>>,
  contentType = 'text/plain; charset=utf-8',
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = refusalText(reason);
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': utf8Length(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** The body of a refusal: its reason on one line. */
export function refusalText(reason: string): string {
  return `${reason.replace(/[\r\n]+/g, ' ')}\n`;
}

/**
 * Headers of every event stream. `no-transform` makes `compression` (and Next.js's gzip)
 * leave the stream alone; `X-Accel-Buffering: no` does the same for nginx. No `Connection`
 * or `Transfer-Encoding`: Node picks chunked itself, and HTTP/2 forbids both.
 */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};
