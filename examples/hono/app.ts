import { Hono } from 'hono';
import { EventStream, GripstreamError } from '../../src/index.js';

/**
 * The Hono example: `eventStream.hono()` answers Hono's request with a `Response` whose body
 * is the event stream (`eventStream.fetch()` underneath), so it works wherever Hono runs on Node.
 * Built by a function so tests can start it on any port.
 */
export function createApp(eventStream: EventStream): Hono {
  const app = new Hono();

  // Route params fill the `{id}` template, as Express route params do. A channel function
  // given to `hono()` would receive Hono's context (what middleware set: `c.get(...)`).
  app.get('/events/:id', eventStream.hono('{id}'));

  app.post('/publish/:channel', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { event?: unknown; data?: unknown; id?: unknown } | null;
    const event = typeof body?.event === 'string' ? body.event : 'message';
    const id = typeof body?.id === 'string' ? body.id : undefined;
    await eventStream.publishEvent(c.req.param('channel'), { event, data: body?.data, id });
    return c.json({ ok: true }, 202);
  });

  app.get('/stats', (c) => c.json(eventStream.stats()));

  // Kubernetes probes (docs/operations.md): ready = Redis / GRIP proxy answer and not draining.
  app.get('/readyz', () => eventStream.probeResponse('ready'));
  app.get('/livez', () => eventStream.probeResponse('live'));

  // A GRIP proxy that is down answers 502; bad input (an invalid channel or event) 400.
  app.onError((err, c) => {
    const code = err instanceof GripstreamError ? err.code : 'ERR_INTERNAL';
    const status = code === 'ERR_GRIP_PUBLISH' ? 502 : code.startsWith('ERR_INVALID') ? 400 : 500;
    return c.json({ error: status < 500 ? err.message : 'internal error', code }, status);
  });
  return app;
}
