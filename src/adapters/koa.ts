import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { StreamRequest, SubjectHandler } from '../types.js';

/**
 * The part of a Koa context the adapter uses; structurally typed so Koa stays optional. Channel
 * functions and hooks receive the whole context, so they may type it as `Koa.Context` (or
 * `ParameterizedContext<State>`) and read `ctx.state.user`.
 */
export interface KoaContextLike {
  /** The raw `node:http` request. */
  req: IncomingMessage;
  /** The raw `node:http` response the stream is written to. */
  res: ServerResponse;
  /** The request's headers (Koa delegates `ctx.headers` to the request). */
  readonly headers: IncomingHttpHeaders;
  /** What middleware left for later ones (`ctx.state.user`); type the context to read it. */
  state?: unknown;
  /** Set to `false` so Koa leaves the response to the stream. */
  respond?: boolean;
  /** Router params (`@koa/router`): fill `{name}` tokens. */
  params?: Record<string, string>;
  /** The parsed query: fills `{name}` tokens not in `params`. */
  query?: Record<string, unknown>;
}

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
