import type { IncomingMessage } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { EventStream, GripstreamError } from '../../src/index.js';

/** Bodies of publish requests are small JSON objects; anything bigger is refused. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The Koa example: `GET /events/:id` streams channel `:id` (the router param fills the
 * `{id}` template), `POST /publish/:channel` publishes, `GET /me/events` picks the channel
 * from a header and shows a channel builder's error reaching Koa's error handling.
 * Built by a function so tests can start it on any port.
 */
export function createApp(eventStream: EventStream): Koa {
  const app = new Koa();
  const router = new Router();

  // Errors from routes, channel builders included, become JSON here. `err.status` (from
  // `ctx.throw` or http-errors) wins; a GRIP proxy that is down is 502; bad input 400.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const httpStatus = statusOf(err);
      const code = err instanceof GripstreamError ? err.code : httpStatus !== undefined ? 'ERR_HTTP' : 'ERR_INTERNAL';
      const status = httpStatus ?? (code === 'ERR_GRIP_PUBLISH' ? 502 : code.startsWith('ERR_INVALID') ? 400 : 500);
      ctx.status = status;
      ctx.body = { error: status < 500 && err instanceof Error ? err.message : 'internal error', code };
      if (status >= 500) ctx.app.emit('error', err, ctx);
    }
  });

  // Headers set before the stream starts (here CORS) go out with the stream's own.
  app.use(async (ctx, next) => {
    ctx.set('Access-Control-Allow-Origin', '*');
    await next();
  });

  router.get('/events/:id', eventStream.koa('{id}'));

  // The channel comes from who asks; no `X-User` is a 401 thrown from the builder.
  router.get(
    '/me/events',
    eventStream.koa((ctx) => {
      const user = ctx.headers['x-user'];
      if (typeof user !== 'string' || user === '') {
        throw Object.assign(new Error('send X-User to listen to your channel'), { status: 401, expose: true });
      }
      return [`user-${user}`, 'news'];
    }),
  );

  router.post('/publish/:channel', async (ctx) => {
    const body = (await readJson(ctx.req)) as { event?: unknown; data?: unknown; id?: unknown } | null;
    const event = typeof body?.event === 'string' ? body.event : 'message';
    const id = typeof body?.id === 'string' ? body.id : undefined;
    await eventStream.publishEvent(ctx.params.channel!, { event, data: body?.data, id });
    ctx.status = 202;
    ctx.body = { ok: true };
  });

  router.get('/stats', (ctx) => {
    ctx.body = eventStream.stats();
  });

  // Kubernetes probes (docs/operations.md): ready = Redis / GRIP proxy answer and not draining.
  router.get('/readyz', (ctx) => {
    const report = eventStream.health();
    ctx.status = report.ready ? 200 : 503;
    ctx.body = report;
  });
  router.get('/livez', (ctx) => {
    const report = eventStream.health();
    ctx.status = report.live ? 200 : 503;
    ctx.body = report;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/** The request body as JSON (no body parser needed for one route). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { status: 413, expose: true });
    chunks.push(chunk);
  }
  if (size === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw Object.assign(new Error('body is not JSON'), { status: 400, expose: true });
  }
}
