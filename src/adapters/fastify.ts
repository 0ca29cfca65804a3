import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { StreamRequest, SubjectHandler } from '../types.js';
import type { FastifyRequestLike } from '../frameworkShapes.js';

export type { FastifyRequestLike } from '../frameworkShapes.js';


/** The part of a Fastify reply the handler uses. */
export interface FastifyReplyLike {
  /** The raw response the stream is written to. */
  readonly raw: ServerResponse | Http2ServerResponse;
  /** Headers hooks set on the reply (CORS…), copied to the stream's head. */
  getHeaders(): OutgoingHttpHeaders | Record<string, number | string | string[] | undefined>;
  /** Tells Fastify the handler answers on the raw response itself. */
  hijack(): unknown;
}

/**
 * A Fastify route handler (`app.get(path, handler)`, or `handler` in route options); `Req` is
 * the request its channel function asked for.
 */
export type FastifyHandler<Req extends FastifyRequestLike = FastifyRequestLike> = (request: Req, reply: FastifyReplyLike) => Promise<void>;

/**
 * Wraps a connect-style stream handler for Fastify. Route params and the parsed query feed
 * `{name}` tokens. Headers set on the reply by hooks (`@fastify/cors`, `onRequest`…) are moved
 * to the raw response first, so the stream and its refusals carry them. An error thrown by a
 * channel builder before anything is written rejects the handler: Fastify's error handler
 * answers. Once the stream's head is written the reply is hijacked: Fastify must not send it.
 * Channel functions and hooks receive the Fastify request itself.
 */
export function toFastifyHandler<Req extends FastifyRequestLike>(handler: SubjectHandler): FastifyHandler<Req> {
  return async (request, reply) => {
    const req = request.raw as StreamRequest;
    req.params ??= recordOf(request.params);
    req.query ??= recordOf(request.query);
    moveReplyHeaders(reply);
    let failed = false;
    let failure: unknown;
    await handler(
      req,
      reply.raw,
      (err) => {
        failed = true;
        failure = err;
      },
      request,
    );
    if (failed && !reply.raw.headersSent) throw failure;
    reply.hijack();
    if (failed) reply.raw.destroy();
  };
}

function moveReplyHeaders(reply: FastifyReplyLike): void {
  const res = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && !res.hasHeader(name)) res.setHeader(name, value);
  }
}

function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
