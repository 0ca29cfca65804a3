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
