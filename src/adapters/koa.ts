import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventStreamHandler, StreamRequest } from '../types.js';

/** The part of a Koa context the adapter uses; structurally typed so Koa stays optional. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
}

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
