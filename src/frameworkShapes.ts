import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

// The shapes of the frameworks' own request objects, typed by structure so no framework is a
// dependency. They live at the root, below both the adapters and the core types
// (FrameworkRequest), so that both read them downward.

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

/**
 * The part of a Fastify request the handler reads; structural, so Fastify stays optional.
 * Channel functions and hooks receive the whole request, so they may type it as
 * `FastifyRequest` and read its decorations (`request.user` from `@fastify/jwt`).
 */
export interface FastifyRequestLike {
  /** The raw `node:http` (or `node:http2`) request. */
  readonly raw: IncomingMessage | Http2ServerRequest;
  /** Route params: fill `{name}` tokens. */
  readonly params?: unknown;
  /** The parsed query: fills `{name}` tokens not in `params`. */
  readonly query?: unknown;
}

/**
 * The part of a Hono context the handler reads; structural, so Hono stays optional. Channel
 * functions and hooks receive the whole context, so they may type it as Hono's `Context` and
 * read what middleware set (`c.get('jwtPayload')`, `c.var.user`).
 */
export interface HonoContextLike {
  /** Hono's request wrapper. */
  readonly req: {
    /** The WHATWG `Request` underneath. */
    readonly raw: Request;
    /** Hono's route params, which fill `{name}` tokens. */
    param(): unknown;
  };
}
