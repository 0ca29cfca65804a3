import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, RedisIdempotencyStore, TokenVerifier, createPublishHandler, mintToken } from '../../src/index.js';
import { requireBinary } from '../support/binary.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { startHttp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// A retried publish that lands on another instance: two instances on the Redis engine, each
// with its own publish endpoint and a RedisIdempotencyStore on the same Redis; python3 sends
// the same request to both, and the one client sees the event once.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const PUBLISH_PY = fileURLToPath(new URL('./fixtures/publish.py', import.meta.url));

afterEach(runCleanups);

function python(url: string, token: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', [PUBLISH_PY, url, token], { timeout: 15_000 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout) as { status: number; body: string }),
    );
    child.stdin!.end(body);
  });
}

describe.runIf(requireRedis() && requireBinary('python3'))('idempotent publish across instances (RedisIdempotencyStore)', () => {
  const redis = useRedis();

  async function instance(prefix: string): Promise<{ es: EventStream; url: string }> {
    const es = track(new EventStream({ redis: { url: redis.url, keyPrefix: prefix } }));
    const store = new RedisIdempotencyStore({ redis: redis.url, keyPrefix: prefix });
    defer(() => store.close());
    const publish = createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }), idempotency: { store } });
    const { url } = await startHttp((req, res) => {
      if (req.url === '/publish') return void publish(req, res);
      void es(new URL(req.url!, 'http://x').pathname.slice(1))(req, res);
    });
    return { es, url };
  }

  it('publishes a retried request once, whichever instance gets it', async () => {
    const prefix = `idem-${randomUUID()}:`;
    const [a, b] = await Promise.all([instance(prefix), instance(prefix)]);
    const client = await connectSse(`${b.url}/orders`);
    const token = await mintToken({ secret: SECRET, publish: ['orders'] });
    const body = JSON.stringify({ events: [{ channel: 'orders', event: 'message', data: 'paid', id: 'order-9:paid' }] });
    expect(await python(`${a.url}/publish`, token, body)).toEqual({ status: 200, body: '{"published":1,"duplicates":0}\n' });
    expect(await python(`${b.url}/publish`, token, body)).toEqual({ status: 200, body: '{"published":0,"duplicates":1}\n' });
    await a.es.publishEvent('orders', { event: 'message', data: 'marker' });
    await client.until((events) => events.some((e) => e.data === '"marker"'), 'the marker');
    expect(client.of('message').map((e) => e.data)).toEqual(['"paid"', '"marker"']);
    expect(redis.cli('GET', `${prefix}pub:orders\norder-9:paid`)).toBe('done');
  });
});
