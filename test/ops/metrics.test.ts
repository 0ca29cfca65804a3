import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { metrics as otelApi } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { OnDemandReader } from '../support/on-demand-reader.js';

// The figures per transport and per drop reason, the `metrics` option, and the OpenTelemetry
// side's life cycle, each against real servers and clients.

afterEach(runCleanups);

async function figure(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value;
}

function registryOf(es: EventStream): Registry {
  const registry = new Registry();
  es.metricsHandler({ registry });
  return registry;
}

async function listening<T extends net.Server>(server: T): Promise<number> {
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('open streams by transport', () => {
  it('counts HTTP/1.1, HTTP/2 and fetch streams apart, and each down again when it closes', async () => {
    const es = new EventStream({ history: false });
    defer(() => es.close());
    const registry = registryOf(es);
    const open = (transport: string): Promise<number | undefined> => figure(registry, 'gripstream_streams_open', { transport });

    const h1 = http.createServer(es('c'));
    const h1Port = await listening(h1);
    defer(() => new Promise((resolve) => (h1.closeAllConnections(), h1.close(resolve))));
    const h1Abort = new AbortController();
    await fetch(`http://127.0.0.1:${h1Port}/`, { headers: { accept: 'text/event-stream' }, signal: h1Abort.signal });

    const h2 = http2.createServer((req, res) => void es.run(req, res, 'c'));
    const h2Port = await listening(h2);
    defer(() => new Promise((resolve) => h2.close(resolve)));
    const session = http2.connect(`http://127.0.0.1:${h2Port}`);
    defer(() => session.destroy());
    const h2Stream = session.request({ ':path': '/', accept: 'text/event-stream' });
    await new Promise((resolve) => h2Stream.once('response', resolve));

    const fetchAbort = new AbortController();
    const response = await es.fetch(new Request('http://app.invalid/', { headers: { accept: 'text/event-stream' }, signal: fetchAbort.signal }), 'c');
    expect(response.status).toBe(200);

    await until('one stream per transport', 5000, async () => (await open('http1')) === 1 && (await open('http2')) === 1 && (await open('fetch')) === 1);
    expect(es.stats().connections).toBe(3);
    expect(await figure(registry, 'gripstream_subscriptions')).toBe(3);

    h1Abort.abort();
    h2Stream.close();
    fetchAbort.abort();
    await until('every stream closed', 5000, async () => (await open('http1')) === 0 && (await open('http2')) === 0 && (await open('fetch')) === 0);
    expect(await figure(registry, 'gripstream_channels')).toBe(0);
  });
});

describe('clients dropped by reason', () => {
  it('counts a client that stops reading as slow_client, and the streams close() ends as shutdown', async () => {
    const lines: string[] = [];
    const log = (text: unknown): void => void lines.push(String(text));
    const es = new EventStream({ history: false, maxBufferedBytes: 64 * 1024, logger: { error: log, warn: log, info: log, debug: () => undefined } });
    const registry = registryOf(es);
    const server = http.createServer(es('c'));
    const port = await listening(server);
    defer(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));

    // A reader that keeps reading, and a raw socket that never reads after the head.
    const keeps = new AbortController();
    defer(() => keeps.abort());
    const reading = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/event-stream' }, signal: keeps.signal });
    void reading.body!.pipeTo(new WritableStream()).catch(() => undefined);
    const stalled = net.connect(port, '127.0.0.1');
    defer(() => stalled.destroy());
    stalled.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await new Promise((resolve) => stalled.once('data', resolve));
    stalled.pause();
    await until('both streams open', 5000, () => es.stats().connections === 2);

    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 400 && es.stats().clientsDropped === 0; i++) {
      await es.publishEvent('c', { event: 'm', data: big });
      await turn();
    }
    await until('the stalled client dropped', 5000, async () => (await figure(registry, 'gripstream_clients_dropped_total', { reason: 'slow_client' })) === 1);
    expect(es.stats().clientsDropped).toBe(1);
    expect(await figure(registry, 'gripstream_streams_open', { transport: 'http1' })).toBe(1);
    // The same drop still reaches the incident log (one line, at its next report).
    await until('the drop reported', 5000, () => lines.some((line) => /1 client was dropped/.test(line)));

    await es.close();
    expect(await figure(registry, 'gripstream_clients_dropped_total', { reason: 'shutdown' })).toBe(1);
    expect(await figure(registry, 'gripstream_clients_dropped_total', { reason: 'slow_client' })).toBe(1);
  });
});

describe('the metrics option', () => {
  it('false: counters still count, histograms stay empty, no OpenTelemetry instruments', async () => {
    const reader = new OnDemandReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    defer(() => meterProvider.shutdown());
    expect(otelApi.setGlobalMeterProvider(meterProvider)).toBe(true);
    defer(() => otelApi.disable());
    const es = new EventStream({ metrics: false });
    defer(() => es.close());
    const registry = registryOf(es);
    for (let i = 0; i < 40; i++) await es.publishEvent('c', { event: 'm', data: i });
    expect(await figure(registry, 'gripstream_events_published_total')).toBe(40);
    const duration = await registry.getSingleMetric('gripstream_publish_duration_seconds')!.get();
    expect(duration.values.find((v) => (v as { metricName?: string }).metricName === 'gripstream_publish_duration_seconds_count')?.value ?? 0).toBe(0);
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics).toEqual([]);
  });

  it('uses the global MeterProvider registered before construction', async () => {
    const reader = new OnDemandReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    defer(() => meterProvider.shutdown());
    expect(otelApi.setGlobalMeterProvider(meterProvider)).toBe(true);
    defer(() => otelApi.disable());
    const es = new EventStream();
    defer(() => es.close());
    for (let i = 0; i < 3; i++) await es.publishEvent('c', { event: 'm', data: i });
    const collected = await reader.collect();
    const published = collected.resourceMetrics.scopeMetrics
      .find((scope) => scope.scope.name === 'gripstream')
      ?.metrics.find((m) => m.descriptor.name === 'gripstream.events.published');
    expect(published?.dataPoints[0]?.value).toBe(3);
  });

  it('refuses a value that is not true, false or options, saying what it got', () => {
    expect(() => new EventStream({ metrics: 'yes' as unknown as boolean })).toThrow(InvalidConfigError);
    expect(() => new EventStream({ metrics: 'yes' as unknown as boolean })).toThrow('metrics must be true, false or { meterProvider }, got "yes"');
    expect(() => new EventStream({ metric: true } as never)).toThrow('did you mean "metrics"?');
  });
});

describe('streams a drain ends, and hooks that throw', () => {
  it('counts the streams drain() ends as drain (not shutdown), and an onDisconnect that threw', async () => {
    const es = new EventStream({
      history: false,
      logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
      onDisconnect: () => {
        throw new Error('hook bug');
      },
    });
    const registry = registryOf(es);
    const server = http.createServer(es('c'));
    const port = await listening(server);
    defer(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
    const aborts = [new AbortController(), new AbortController()];
    for (const abort of aborts) {
      defer(() => abort.abort());
      const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
      void response.body!.pipeTo(new WritableStream()).catch(() => undefined);
    }
    await until('both streams open', 5000, () => es.stats().connections === 2);

    await es.drain(200);
    expect(await figure(registry, 'gripstream_clients_dropped_total', { reason: 'drain' })).toBe(2);
    await until('both disconnects seen', 5000, async () => (await figure(registry, 'gripstream_on_disconnect_errors_total')) === 2);
    await es.close();
    expect(await figure(registry, 'gripstream_clients_dropped_total', { reason: 'shutdown' })).toBe(0);
    expect(await figure(registry, 'gripstream_clients_dropped_total', { reason: 'slow_client' })).toBe(0);
  });
});

describe('histograms kept in gripstream\'s own buckets', () => {
  it('renders at scrape time every sample since start, and hands OpenTelemetry the same counts and sum at collection', async () => {
    const reader = new OnDemandReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    defer(() => meterProvider.shutdown());
    const es = new EventStream({ history: false, metrics: { meterProvider } });
    defer(() => es.close());
    // Published before any scrape handler exists: the samples are gripstream's, not an exporter's.
    for (let i = 0; i < 64 * 10; i++) await es.publishEvent('c', { event: 'm', data: i });
    const registry = registryOf(es);
    const prom = await registry.getSingleMetric('gripstream_publish_duration_seconds')!.get();
    const line = (name: string, le?: string): number | undefined =>
      prom.values.find((v) => (v as { metricName?: string }).metricName === name && (le === undefined || String(v.labels.le) === le))?.value;
    // The first publish and every 64th after it are timed.
    expect(line('gripstream_publish_duration_seconds_count')).toBe(10);
    expect(line('gripstream_publish_duration_seconds_bucket', '+Inf')).toBe(10);
    const cumulative = prom.values.filter((v) => (v as { metricName?: string }).metricName === 'gripstream_publish_duration_seconds_bucket').map((v) => v.value);
    expect(cumulative).toEqual([...cumulative].sort((a, b) => a - b));
    const text = await registry.metrics();
    expect(text).toMatch(/^# TYPE gripstream_publish_duration_seconds histogram$/m);
    expect(text).toMatch(/^gripstream_publish_duration_seconds_bucket\{le="0\.00005"\} \d+$/m);

    const histogramOf = async (): Promise<{ count: number; sum: number; buckets: { counts: number[] } }> => {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics
        .find((scope) => scope.scope.name === 'gripstream')
        ?.metrics.find((m) => m.descriptor.name === 'gripstream.publish.duration');
      return metric!.dataPoints[0]!.value as { count: number; sum: number; buckets: { counts: number[] } };
    };
    const first = await histogramOf();
    expect(first.count).toBe(10);
    expect(first.sum).toBeCloseTo(line('gripstream_publish_duration_seconds_sum')!, 9);
    // OTel's buckets are per bucket, Prometheus's cumulative: the same layout, the same figures.
    let running = 0;
    expect(first.buckets.counts.map((n) => (running += n)).slice(0, cumulative.length - 1)).toEqual(cumulative.slice(0, -1));

    for (let i = 0; i < 64; i++) await es.publishEvent('c', { event: 'm', data: i });
    // Cumulative: the next collection adds what was sampled since, nothing twice.
    expect((await histogramOf()).count).toBe(11);
  });
});
