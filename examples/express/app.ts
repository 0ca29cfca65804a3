import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { EventStream, GripstreamError } from '../../src/index.js';

/**
 * The example app: a page that listens with EventSource, and a form that publishes.
 * Built by a function so tests can start it on any port.
 */
export function createApp(eventStream: EventStream): Express {
  const app = express();
  app.use(express.static(fileURLToPath(new URL('./public/', import.meta.url))));
  app.use(express.json());

  // Everyone on 'news'; plus a per-room channel named by the route.
  app.get('/api/events', eventStream('news'));
  app.get('/api/rooms/:room/events', eventStream('room-{room}', 'news'));

  app.post('/api/publish', async (req, res, next) => {
    const { channel = 'news', event = 'message', text = '' } = (req.body ?? {}) as Record<string, string>;
    try {
      await eventStream.publishEvent(channel, { event, data: { text, at: new Date().toISOString() } });
      res.status(202).json({ ok: true });
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/stats', (_req, res) => {
    res.json(eventStream.stats());
  });

  // Kubernetes probes (docs/operations.md): ready = Redis / GRIP proxy answer and not draining.
  app.get('/readyz', eventStream.probe('ready'));
  app.get('/livez', eventStream.probe('live'));

  // A GRIP proxy that is down answers 502; bad input (an invalid channel or event) 400.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const code = err instanceof GripstreamError ? err.code : 'ERR_INTERNAL';
    const status = code === 'ERR_GRIP_PUBLISH' ? 502 : code.startsWith('ERR_INVALID') ? 400 : 500;
    res.status(status).json({ error: err instanceof Error ? err.message : String(err), code });
  });
  return app;
}
