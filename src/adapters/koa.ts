import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventStreamHandler, StreamRequest } from '../types.js';

/** The part of a Koa context the adapter uses; structurally typed so Koa stays optional. */
/** The part of Koa's `ctx` the middleware uses (typed by shape: Koa is not a dependency). */
export interface KoaContextLike {
  /** The raw `node:http` request. */
  req: IncomingMessage;
  /** The raw `node:http` response the stream is written to. */
  res: ServerResponse;
  /** Set to `false` so Koa leaves the response to the stream. */
  respond?: boolean;
  /** Router params (`@koa/router`): fill `{name}` tokens. */
  params?: Record<string, string>;
  /** The parsed query: fills `{name}` tokens not in `params`. */
  query?: Record<string, unknown>;
}

/** Koa middleware, from `eventStream.koa(...)`. */
export type KoaMiddleware = (ctx: KoaContextLike) => Promise<void>;

/**
 * Wraps a connect-style stream handler for Koa. `ctx.respond = false` hands the raw response
 * over (Koa must not write or end it); `@koa/router` params and the query feed `{name}` tokens.
 */
export function toKoaMiddleware(handler: EventStreamHandler): KoaMiddleware {
  return async (ctx) => {
    ctx.respond = false;
    const req = ctx.req as StreamRequest;
    req.params ??= ctx.params;
    req.query ??= ctx.query;
    let failure: unknown;
    await handler(req, ctx.res, (err) => {
      failure = err;
    });
    if (failure !== undefined) {
      // Let Koa's error handling answer: it needs to respond again for that.
      ctx.respond = true;
      throw failure;
    }
  };
}
