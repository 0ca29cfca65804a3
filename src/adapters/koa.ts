import type { StreamRequest, SubjectHandler } from '../types.js';
import type { KoaContextLike } from '../frameworkShapes.js';

export type { KoaContextLike } from '../frameworkShapes.js';


/** Koa middleware made by `eventStream.koa()`; `Ctx` is the context its channel function asked for. */
export type KoaMiddleware<Ctx extends KoaContextLike = KoaContextLike> = (ctx: Ctx) => Promise<void>;

/**
 * Wraps a stream handler for Koa. `ctx.respond = false` hands the raw response over (Koa must
 * not write or end it); `@koa/router` params and the query feed `{name}` tokens; the context
 * itself is what channel functions and hooks receive.
 */
export function toKoaMiddleware<Ctx extends KoaContextLike>(handler: SubjectHandler): KoaMiddleware<Ctx> {
  return async (ctx) => {
    ctx.respond = false;
    const req = ctx.req as StreamRequest;
    req.params ??= ctx.params;
    req.query ??= ctx.query;
    let failure: unknown;
    await handler(
      req,
      ctx.res,
      (err) => {
        failure = err;
      },
      ctx,
    );
    if (failure !== undefined) {
      // Let Koa's error handling answer: it needs to respond again for that.
      ctx.respond = true;
      throw failure;
    }
  };
}
