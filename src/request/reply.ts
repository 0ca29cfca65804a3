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
  const body = `${reason.replace(/[\r\n]+/g, ' ')}\n`;
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
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
