import cors from '@fastify/cors';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { EventStream, GripstreamError } from '../../src/index.js';

/**
 * The Fastify 5 example: CORS from a plugin, a stream per room, publishing by POST, and
 * gripstream's errors mapped in Fastify's error handler. Built by a function so tests can
 * start it on any port.
 */
export async function createApp(eventStream: EventStream, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });
  await app.register(cors, { origin: true });

  // Open streams would hold app.close() forever: end them first.
  app.addHook('preClose', () => eventStream.close());

  app.get('/events', eventStream.fastify('news'));
  // `{room}` comes from the route param; `?topic=` from the parsed query.
  app.get('/rooms/:room/events', eventStream.fastify('room-{room}', 'news'));

  app.post<{ Params: { channel: string }; Body: { event?: string; data?: unknown } }>(
    '/publish/:channel',
    async (request, reply) => {
      const { event = 'message', data } = request.body ?? {};
      await eventStream.publishEvent(request.params.channel, { event, data });
      return reply.code(202).send({ ok: true });
    },
  );

  app.get('/stats', async () => eventStream.stats());

  // Kubernetes probes (docs/operations.md): ready = Redis / GRIP proxy answer and not draining.
  app.get('/readyz', async (_request, reply) => {
    const report = eventStream.health();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/livez', async (_request, reply) => {
    const report = eventStream.health();
    return reply.code(report.live ? 200 : 503).send(report);
  });

  // Bad input (an invalid channel or event) is a 400; a GRIP proxy that is down a 502.
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    const code = err instanceof GripstreamError ? err.code : 'ERR_INTERNAL';
    const status = code === 'ERR_GRIP_PUBLISH' ? 502 : code.startsWith('ERR_INVALID') ? 400 : (err.statusCode ?? 500);
    return reply.code(status).send({ error: err.message, code });
  });
  return app;
}
