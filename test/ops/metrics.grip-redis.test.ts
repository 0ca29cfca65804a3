import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { requireRedis, startRedis } from '../support/redis.js';
import { Listener, startOrigin, within } from '../support/pushpin/origin.js';

// GRIP and Redis figures with the real programs: streams held by a real Pushpin are counted
// (stats() and the metrics), GRIP publishes, failures and Grip-Last recoveries, and the Redis
// link's state, errors and reconnects as Redis is killed and restarted.

afterEach(runCleanups);

/** The figures of one EventStream as its prom-client registry gives them: `name{k="v"}` → value. */
async function figures(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const { labels, value, metricName } of metric.values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {
      const keys = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      out.set(`${metricName ?? metric.name}${keys.length > 0 ? `{${keys.join(',')}}` : ''}`, value);
    }
  }
  return out;
}

function registryOf(es: EventStream): Registry {
  const registry = new Registry();
  es.metricsHandler({ registry });
  return registry;
}

async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const opened = (events: { type: string }[]): boolean => events.some((e) => e.type === 'stream-open');

describe.runIf(requirePushpin() && requireRedis())('GRIP and Redis metrics with a real Pushpin and Redis', () => {
  it('counts held streams, GRIP publishes, failures and Grip-Last recoveries', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const [httpPort, publishPort] = await freePortPair();
    const options: EventStreamOptions = {
      grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
      gripReliable: true,
      history: { redis: redis.url, keyPrefix: `t-${randomUUID()}:` },
    };
    const a = await startOrigin('A', options);
    defer(() => a.close());
    const pushpin = await startPushpin({ originPort: a.port, httpPort, publishPort, messageWait: 300 });
    defer(() => pushpin.stop());
    await pushpin.waitForOrigin('/events/warmup');
    const registry = registryOf(a.eventStream);
    const before = await figures(registry);
    const holdsBefore = a.eventStream.stats().heldStreams;

    const clients = [0, 1, 2].map(() => new Listener(`http://127.0.0.1:${httpPort}/events/r`));
    for (const client of clients) defer(() => client.close());
    for (const client of clients) await client.until(opened, 5000, 'open through pushpin');

    // Held by the proxy: not direct connections, but counted as held streams.
    const stats = a.eventStream.stats();
    expect(stats.connections).toBe(0);
    expect(stats.heldStreams - holdsBefore).toBe(3);
    let now = await figures(registry);
    expect(now.get('gripstream_grip_holds_total')! - (before.get('gripstream_grip_holds_total') ?? 0)).toBe(3);
    expect(now.get('gripstream_streams_open{transport="http1"}')).toBe(0);
    expect(now.get('gripstream_redis_up')).toBe(1);
    // Reading the GRIP state asks about health: the proxy is checked from then on.
    await eventually('grip_up 1', 5000, async () => (await figures(registry)).get('gripstream_grip_up') === 1);

    await a.eventStream.publishEvent('r', { event: 'm', data: 1 });
    for (const client of clients) await client.until((e) => e.some((x) => x.type === 'm'), 5000, 'first event');

    // A publish that reaches history but not the proxy: a failure here, a gap for the proxy.
    const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
    defer(() => lost.close());
    const lostRegistry = registryOf(lost);
    await expect(lost.publishEvent('r', { event: 'm', data: 2 })).rejects.toBeInstanceOf(GripPublishError);
    const lostFigures = await figures(lostRegistry);
    expect(lostFigures.get('gripstream_grip_publishes_total')).toBe(1);
    expect(lostFigures.get('gripstream_grip_publish_failures_total')).toBe(1);
    expect(lostFigures.get('gripstream_grip_publish_duration_seconds_count')).toBe(0);
    // Nothing answers there: the health checks see it down (two failed checks), one outage.
    await eventually('grip_up 0 with one outage', 8000, async () => {
      const figured = await figures(lostRegistry);
      return figured.get('gripstream_grip_up') === 0 && figured.get('gripstream_grip_outages_total') === 1;
    });

    // The next publish names event 2 as its prev-id: Pushpin fetches it with Grip-Last.
    await a.eventStream.publishEvent('r', { event: 'm', data: 3 });
    for (const client of clients) await client.until((e) => e.filter((x) => x.type === 'm').length >= 3, 8000, 'gap recovered');
    now = await figures(registry);
    expect(now.get('gripstream_grip_publishes_total')).toBe(2);
    expect(now.get('gripstream_grip_publish_failures_total')).toBe(0);
    expect(now.get('gripstream_grip_publish_duration_seconds_count')).toBe(2);
    expect(now.get('gripstream_grip_last_recoveries_total')).toBeGreaterThanOrEqual(1);
    expect(now.get('gripstream_replayed_events_total')).toBeGreaterThanOrEqual(1);
    // Recoveries are not new held streams.
    expect(a.eventStream.stats().heldStreams - holdsBefore).toBe(3);
  });

  it('shows the Redis link going down and coming back, with the errors and the reconnect', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const es = new EventStream({ redis: { url: redis.url, commandTimeout: 500 } });
    defer(() => es.close());
    const registry = registryOf(es);
    await es.publishEvent('c', { event: 'm', data: 1 });
    // The gauge reads the health checks' state (checked at once, then every second).
    await eventually('redis_up 1', 5000, async () => (await figures(registry)).get('gripstream_redis_up') === 1);
    let now = await figures(registry);
    expect(now.get('gripstream_redis_command_errors_total')).toBe(0);
    expect(now.get('gripstream_redis_outages_total')).toBe(0);
    expect(now.get('gripstream_redis_reconnects_total')).toBe(0);
    // The first call is timed (then one in SAMPLE_EVERY).
    expect(now.get('gripstream_redis_command_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    await redis.kill();
    await eventually('redis_up 0', 5000, async () => (await figures(registry)).get('gripstream_redis_up') === 0);
    // The health checks' own PINGs fail meanwhile and count too (they are Redis calls): the publish adds one.
    const errorsBefore = (await figures(registry)).get('gripstream_redis_command_errors_total')!;
    await expect(es.publishEvent('c', { event: 'm', data: 2 })).rejects.toThrow();
    expect((await figures(registry)).get('gripstream_redis_command_errors_total')).toBeGreaterThanOrEqual(errorsBefore + 1);
    // One outage, however many failed checks: the same transition the incident log reports.
    expect((await figures(registry)).get('gripstream_redis_outages_total')).toBe(1);

    const back = await redis.restart({ keepData: false });
    defer(() => back.stop());
    await eventually('redis_up 1 again', 10_000, async () => (await figures(registry)).get('gripstream_redis_up') === 1);
    now = await figures(registry);
    expect(now.get('gripstream_redis_reconnects_total')).toBe(1);
    expect(now.get('gripstream_redis_outages_total')).toBe(1);
    await within(es.publishEvent('c', { event: 'm', data: 3 }), 5000, 'a publish once Redis is back');
  });

  it('counts a gap in pub/sub delivery read back from the stream (its subscriber link killed while events are published)', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const prefix = `g-${randomUUID()}:`;
    const es = new EventStream({ redis: { url: redis.url, keyPrefix: prefix } });
    defer(() => es.close());
    const publisher = new EventStream({ redis: { url: redis.url, keyPrefix: prefix } });
    defer(() => publisher.close());
    const registry = registryOf(es);
    const server = http.createServer(es('room'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
    const client = new Listener(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    defer(() => client.close());
    await client.until(opened, 5000, 'open');
    await eventually('subscribed in Redis', 5000, async () => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{room}:p`).endsWith('1'));
    await publisher.publishEvent('room', { event: 'm', data: 0 });
    await client.until((e) => e.some((x) => x.type === 'm'), 5000, 'the first event');
    expect((await figures(registry)).get('gripstream_redis_gaps_filled_total')).toBe(0);

    redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (let i = 1; i <= 10; i++) await publisher.publishEvent('room', { event: 'm', data: i });
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 11, 10_000, 'every event, the gap filled');
    expect(client.of('m').map((e) => Number(e.data))).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect((await figures(registry)).get('gripstream_redis_gaps_filled_total')).toBeGreaterThanOrEqual(1);
  });
});
