import { afterEach, describe, expect, it } from 'vitest';
import { createApp as expressApp } from '../../examples/express/app.js';
import { createApp as fastifyApp } from '../../examples/fastify/app.js';
import { createApp as honoApp } from '../../examples/hono/app.js';
import { createApp as koaApp } from '../../examples/koa/app.js';
import { EventStream, type HealthReport } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { getOnce, startApp, startHttp } from '../support/server.js';

// The examples' /readyz and /livez routes, one per way of answering a probe: the node handler
// (Express), the fetch Response (Hono), and health() (Koa, Fastify).

afterEach(runCleanups);

/** Starts an example app for `eventStream`; resolves to its base URL. */
type Start = (eventStream: EventStream) => Promise<string>;

const examples: Array<[string, Start]> = [
  ['express', async (es) => (await startApp(expressApp(es))).url],
  ['koa', async (es) => (await startHttp(koaApp(es).callback())).url],
  [
    'fastify',
    async (es) => {
      const app = await fastifyApp(es);
      defer(() => app.close());
      return app.listen({ port: 0, host: '127.0.0.1' });
    },
  ],
  [
    'hono',
    async (es) => {
      const app = honoApp(es);
      // The app's fetch on a plain node:http server, as @hono/node-server would run it.
      const server = await startHttp((req, res) => {
        void Promise.resolve(app.fetch(new Request(`http://x${req.url}`))).then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
      return server.url;
    },
  ],
];

describe.each(examples)('examples/%s probes', (_name, start) => {
  it('/readyz: 200, then 503 while draining; /livez: 200 throughout', async () => {
    const es = track(new EventStream());
    const base = await start(es);
    const ready = await getOnce(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body) as HealthReport).toMatchObject({ ready: true, draining: false, dependencies: [] });
    const drained = es.drain(60_000);
    const draining = await getOnce(`${base}/readyz`);
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body) as HealthReport).toMatchObject({ ready: false, draining: true });
    expect((await getOnce(`${base}/livez`)).status).toBe(200);
    await es.close();
    await drained;
  });
});

