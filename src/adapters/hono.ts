import type { FrameworkRequest } from '../types.js';
import type { HonoContextLike } from '../frameworkShapes.js';

export type { HonoContextLike } from '../frameworkShapes.js';


/** A Hono handler made by `eventStream.hono()`; `Ctx` is the context its channel function asked for. */
export type HonoHandler<Ctx extends HonoContextLike = HonoContextLike> = (c: Ctx) => Promise<Response>;

/** What the fetch transport needs to serve one Hono request. */
export type FetchServe = (request: Request, params: Record<string, unknown> | undefined, subject: FrameworkRequest) => Promise<Response>;

/**
 * Wraps the fetch transport for Hono: the context's `Request` is served, its route params fill
 * `{name}` tokens (the query does otherwise), and the context is what channel functions get.
 */
export function toHonoHandler<Ctx extends HonoContextLike>(serve: FetchServe): HonoHandler<Ctx> {
  return (c) => serve(c.req.raw, recordOf(c.req.param()), c);
}

function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
