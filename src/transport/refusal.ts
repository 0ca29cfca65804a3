import { utf8Length } from '../sse/utf8.js';
import type { StreamResponse } from '../types.js';

/** A refused request as decided: a status, a one-line reason, and any headers it must carry. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Plain text unless said otherwise (a token refusal is JSON). */
  readonly contentType?: string;
}

/** A refusal as it goes out, whichever transport carries it. */
export interface RefusalReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const PLAIN_TEXT = 'text/plain; charset=utf-8';

/**
 * The one definition of a refusal on the wire: the decided status, the decided headers plus
 * the body's type and `no-store` (a refusal depends on the request and the moment: no cache
 * may answer the next request with it), and the reason on one line.
 */
export function refusalReply(refusal: Refusal): RefusalReply {
  return {
    status: refusal.status,
    headers: { ...refusal.headers, 'Content-Type': refusal.contentType ?? PLAIN_TEXT, 'Cache-Control': 'no-store' },
    body: refusalText(refusal.reason),
  };
}

/** The body of a refusal: its reason on one line. */
export function refusalText(reason: string): string {
  return `${reason.replace(/[\r\n]+/g, ' ')}\n`;
}

/** Refuses a `node:http` (or HTTP/2) request; a response already under way is dropped instead. */
export function refuse(res: StreamResponse, refusal: Refusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = refusalReply(refusal);
  res.writeHead(status, { ...headers, 'Content-Length': utf8Length(body) });
  res.end(body);
}

/** Refuses a web (fetch-style) request: the `Response` to return. */
export function refusalResponse(refusal: Refusal): Response {
  const { status, headers, body } = refusalReply(refusal);
  return new Response(body, { status, headers });
}
