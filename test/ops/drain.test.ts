import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError, type HealthReport } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { getOnce, startHttp } from '../support/server.js';
import { withTimeout } from '../support/wait.js';

// Drain on one instance, in process: what new requests get, how open streams end, and that
// publishing goes on. The multi-instance drain (Redis, 1,000 clients) is drain-redis.test.ts.

afterEach(runCleanups);

async function served(options: ConstructorParameters<typeof EventStream>[0] = {}) {
  const es = track(new EventStream({ keepAliveInterval: 60_000, ...options }));
  const readyz = es.probe('ready');
  const livez = es.probe('live');
  const started = await startHttp((req, res) => {
    if (req.url === '/readyz') return readyz(req, res);
    if (req.url === '/livez') return livez(req, res);
    void es('ch')(req, res);
  });
  return { es, ...started };
}

describe('EventStream#drain', () => {
  it('refuses new streams with 503, Retry-After and a one-line reason; readiness 503 (draining), liveness 200', async () => {
    const { es, url, port } = await served();
    const open = await RawClient.get(port, { path: '/ch' });
    await open.waitForEvents(1);
    const drained = es.drain(60_000);
    const refused = await getOnce(`${url}/ch`, { Accept: 'text/event-stream' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe('this instance is draining before shutdown: connect to another one\n');
    const fetched = await es.fetch(new Request('http://x/ch', { headers: { Accept: 'text/event-stream' } }), 'ch');
    expect(fetched.status).toBe(503);
    expect(fetched.headers.get('retry-after')).toBe('1');
    const ready = await getOnce(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body) as HealthReport).toMatchObject({ ready: false, draining: true, live: true });
    expect((await getOnce(`${url}/livez`)).status).toBe(200);
    expect(es.drain(5)).toBe(drained);
    await es.close();
    await withTimeout(drained, 5000, 'drain to end on close');
    await open.waitForComplete();
  });

  it('ends open streams in waves over the window, each told a random retry:, while publishing goes on to the end', async () => {
    const { es, port } = await served();
    const clients = await Promise.all(Array.from({ length: 60 }, () => RawClient.get(port, { path: '/ch' })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    const closedAt = new Map<RawClient, number>();
    const started = performance.now();
    for (const client of clients) void client.waitForComplete(10_000).then(() => closedAt.set(client, performance.now() - started));
    const windowMs = 2000;
    const drained = es.drain(windowMs);
    // A publisher that runs through the whole window, every publish accepted.
    let published = 0;
    const publishing = (async () => {
      while (performance.now() - started < windowMs) {
        await es.publishEvent('ch', { event: 'message', data: published++ });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await withTimeout(drained, windowMs + 2000, 'drain');
    const tookMs = performance.now() - started;
    await publishing;
    await Promise.all(clients.map((c) => c.waitForComplete(5000)));
    expect(tookMs).toBeLessThan(windowMs + 500);
    expect(es.stats().connections).toBe(0);

    const times = clients.map((c) => closedAt.get(c)!).sort((a, b) => a - b);
    // Spread over the window (waves fill 90 % of it), never all at once.
    expect(times[0]!).toBeLessThan(300);
    expect(times[times.length - 1]!).toBeGreaterThan(windowMs * 0.7);
    const buckets = new Array<number>(10).fill(0);
    for (const t of times) buckets[Math.min(9, Math.floor(t / (windowMs / 10)))]!++;
    expect(Math.max(...buckets)).toBeLessThanOrEqual(15);

    for (const client of clients) {
      // The stream's last frame tells it when to come back; every event sent before it is whole.
      const retry = /retry: (\d+)\n\n$/.exec(client.bodyText);
      expect(retry, client.bodyText.slice(-80)).not.toBeNull();
      expect(Number(retry![1])).toBeLessThan(windowMs);
      const data = client.events.filter((e) => e.event === 'message').map((e) => Number(e.data));
      expect(data).toEqual(data.map((_, i) => i));
    }
    // Streams ended later saw more of the publishes: publishing went on during the drain.
    const last = clients.reduce((a, b) => (closedAt.get(a)! > closedAt.get(b)! ? a : b));
    expect(last.events.filter((e) => e.event === 'message').length).toBeGreaterThan(published / 2);
  });

  it('close({ drain }) drains first, then closes; publishing works until close', async () => {
    const { es, port, close } = await served();
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.get(port, { path: '/ch' })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    const closing = es.close({ drain: 500 });
    await es.publishEvent('ch', { event: 'message', data: 'during' });
    await withTimeout(closing, 3000, 'close({ drain })');
    await expect(es.publishEvent('ch', { event: 'message', data: 'after' })).rejects.toThrow(/closed/);
    await Promise.all(clients.map((c) => c.waitForComplete(3000)));
    await withTimeout(close(), 3000, 'server.close()');
  });

  it('still answers a GRIP proxy\'s hold requests (the proxy holds those streams, not this instance)', async () => {
    const { es, url } = await served({ grip: 'http://127.0.0.1:9/', logger: false });
    const drained = es.drain(60_000);
    const hold = await getOnce(`${url}/ch`, { Accept: 'text/event-stream', 'Grip-Sig': 'from-the-proxy' });
    expect(hold.status).toBe(200);
    expect(hold.headers['grip-hold']).toBe('stream');
    const direct = await getOnce(`${url}/ch`, { Accept: 'text/event-stream' });
    expect(direct.status).toBe(503);
    await es.close();
    await drained;
  });

  it('resolves at once when no stream is open; refuses a bad window with the value received', async () => {
    const { es } = await served();
    expect(() => es.drain(-1)).toThrow(InvalidConfigError);
    expect(() => es.drain(Number.NaN)).toThrow(/drain\(windowMs\) takes a number of ms from 0 to \d+, got NaN/);
    await withTimeout(es.drain(60_000), 500, 'an empty drain');
  });
});
