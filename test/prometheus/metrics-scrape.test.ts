import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider, type DataPoint, type Histogram as OtelHistogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { SAMPLE_EVERY } from '../../src/telemetry/Metrics.js';
import { STREAM_OPEN } from '../../src/sse/frames.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { OnDemandReader } from '../support/on-demand-reader.js';
import { requirePrometheus, startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

// A real Prometheus scrapes the handler of a real server while it carries streams, publishes
// and resumes; its own HTTP API must then give exactly the figures the load made. The real
// OpenTelemetry SDK, reading the same EventStream, must see the same figures.

afterEach(runCleanups);

const FRESH_CLIENTS = 40;
const FIRST_BATCH = 100;
const SECOND_BATCH = 400;
const CHANNEL = 'room-secret-name';

interface Client {
  bytes: number;
  events: number;
  /** The id of the first event received. */
  firstId: string | undefined;
  close(): void;
}

/** A plain fetch reader counting the bytes and events it got. */
async function openClient(port: number, lastEventId?: string): Promise<Client> {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const res = await fetch(`http://127.0.0.1:${port}/events/${CHANNEL}`, { headers, signal: controller.signal });
  expect(res.status).toBe(200);
  const client: Client = { bytes: 0, events: 0, firstId: undefined, close: () => controller.abort() };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let partial = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        client.bytes += value.byteLength;
        // Whole lines only: a read may end in the middle of one.
        const text = partial + decoder.decode(value, { stream: true });
        const end = text.lastIndexOf('\n') + 1;
        partial = text.slice(end);
        const lines = text.slice(0, end);
        client.events += (lines.match(/^event: tick$/gm) ?? []).length;
        client.firstId ??= /^id: (.+)$/m.exec(lines)?.[1];
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  defer(() => client.close());
  return client;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function scalar(prometheus: PrometheusInstance, expr: string): Promise<number | undefined> {
  const result = await prometheus.query(expr);
  return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
}

/** Waits until Prometheus holds `expected` for `expr` (it scrapes every second). */
async function settled(prometheus: PrometheusInstance, expr: string, expected: number): Promise<void> {
  await until(`${expr} == ${expected} in Prometheus`, 15_000, async () =>
    (await scalar(prometheus, expr)) === expected ? true : undefined,
  );
}

function otelValue(points: Array<DataPoint<number | OtelHistogram>>, labels: Record<string, string> = {}): number | OtelHistogram {
  const point = points.find((p) => Object.entries(labels).every(([k, v]) => p.attributes[k] === v));
  if (point === undefined) throw new Error(`no OpenTelemetry point with ${JSON.stringify(labels)}`);
  return point.value;
}

describe.runIf(requirePrometheus())('metrics scraped by a real Prometheus', () => {
  it('has the figures of the load, with no channel name in any label, and the OTel SDK sees the same', async () => {
    const reader = new OnDemandReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    defer(() => meterProvider.shutdown());
    // No keep-alive comment in the test's time: the bytes written are the events' alone.
    const es = new EventStream({ metrics: { meterProvider }, keepAliveInterval: 600_000 });
    defer(() => es.close());
    const metrics = es.metricsHandler();
    const route = es('{ch}');
    const server = http.createServer((req, res) => {
      if (req.url === '/metrics') return void metrics(req, res);
      (req as http.IncomingMessage & { params: Record<string, string> }).params = { ch: decodeURIComponent(req.url!.split('/')[2] ?? '') };
      return void route(req, res);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    defer(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    const port = (server.address() as AddressInfo).port;

    const prometheus = await startPrometheus([port]);
    defer(() => prometheus.stop());

    // Load while Prometheus scrapes: fresh streams, a first batch, two resumes, a second batch.
    const fresh = await Promise.all(Array.from({ length: FRESH_CLIENTS }, () => openClient(port)));
    for (let i = 0; i < FIRST_BATCH; i++) await es.publishEvent(CHANNEL, { event: 'tick', data: { i } });
    await until('the first batch at every client', 10_000, () => (fresh.every((c) => c.events === FIRST_BATCH) ? true : undefined));
    const oldestKept = Number(fresh[0]!.firstId);
    // Exact: resumes after the 50th event, replays the other 50.
    const exact = await openClient(port, String(oldestKept + 49));
    // Truncated: an id the store never made; it is told history-truncated and replayed everything kept.
    const truncated = await openClient(port, 'never-made');
    await until('the replays', 10_000, () => (exact.events === 50 && truncated.events === FIRST_BATCH ? true : undefined));
    for (let i = 0; i < SECOND_BATCH; i++) {
      await es.publishEvent(CHANNEL, { event: 'tick', data: { i: FIRST_BATCH + i } });
      // Spread over a few scrapes, so Prometheus sees it under load, not only after.
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const clients = [...fresh, exact, truncated];
    await until('the second batch at every client', 10_000, () =>
      clients.every((c, n) => c.events === (n < FRESH_CLIENTS ? FIRST_BATCH : n === FRESH_CLIENTS ? 50 : FIRST_BATCH) + SECOND_BATCH)
        ? true
        : undefined,
    );

    const published = FIRST_BATCH + SECOND_BATCH;
    await settled(prometheus, 'gripstream_events_published_total', published);
    const deliveries = FIRST_BATCH * FRESH_CLIENTS + SECOND_BATCH * (FRESH_CLIENTS + 2);
    await settled(prometheus, 'gripstream_deliveries_total', deliveries);
    const written = clients.reduce((sum, c) => sum + c.bytes, 0) - clients.length * Buffer.byteLength(STREAM_OPEN);
    await settled(prometheus, 'gripstream_written_bytes_total', written);

    const targets = await prometheus.targets();
    expect(targets).toHaveLength(1);
    expect(targets[0]!.health).toBe('up');
    expect(targets[0]!.lastError).toBe('');

    expect(await scalar(prometheus, 'gripstream_streams_open{transport="http1"}')).toBe(FRESH_CLIENTS + 2);
    expect(await scalar(prometheus, 'gripstream_streams_open{transport="http2"}')).toBe(0);
    expect(await scalar(prometheus, 'gripstream_subscriptions')).toBe(FRESH_CLIENTS + 2);
    expect(await scalar(prometheus, 'gripstream_channels')).toBe(1);
    expect(await scalar(prometheus, 'gripstream_resumes_total{result="exact"}')).toBe(1);
    expect(await scalar(prometheus, 'gripstream_resumes_total{result="truncated"}')).toBe(1);
    expect(await scalar(prometheus, 'gripstream_replayed_events_total')).toBe(50 + FIRST_BATCH);
    expect(await scalar(prometheus, 'gripstream_history_events')).toBe(published);
    expect(await scalar(prometheus, 'gripstream_history_evicted_events_total')).toBe(0);
    expect(await scalar(prometheus, 'sum(gripstream_clients_dropped_total)')).toBe(0);
    // One publish in SAMPLE_EVERY is timed: the first, then every SAMPLE_EVERY-th.
    expect(await scalar(prometheus, 'gripstream_publish_duration_seconds_count')).toBe(Math.ceil(published / SAMPLE_EVERY));
    expect(await scalar(prometheus, 'gripstream_publish_lag_seconds_count')).toBeGreaterThan(0);
    // No Redis, no GRIP: their series are left out rather than reported as down.
    expect(await prometheus.query('gripstream_redis_up')).toEqual([]);
    expect(await prometheus.query('gripstream_grip_publishes_total')).toEqual([]);

    // Never a label per channel: no series of ours carries the channel's name anywhere.
    const series = await prometheus.query('{__name__=~"gripstream_.+"}');
    expect(series.length).toBeGreaterThan(20);
    for (const { metric } of series) expect(Object.values(metric).join(' ')).not.toContain(CHANNEL);

    // The OpenTelemetry SDK reads the same counters.
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const otel = new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]));
    const points = (name: string): Array<DataPoint<number | OtelHistogram>> => {
      const metric = otel.get(name);
      if (metric === undefined) throw new Error(`OpenTelemetry has no ${name}`);
      return metric.dataPoints as Array<DataPoint<number | OtelHistogram>>;
    };
    expect(otelValue(points('gripstream.events.published'))).toBe(published);
    expect(otelValue(points('gripstream.deliveries'))).toBe(deliveries);
    expect(otelValue(points('gripstream.written'))).toBe(written);
    expect(otel.get('gripstream.written')!.descriptor.unit).toBe('By');
    expect(otelValue(points('gripstream.streams.open'), { transport: 'http1' })).toBe(FRESH_CLIENTS + 2);
    expect(otelValue(points('gripstream.resumes'), { result: 'exact' })).toBe(1);
    expect(otelValue(points('gripstream.resumes'), { result: 'truncated' })).toBe(1);
    expect(otelValue(points('gripstream.events.replayed'))).toBe(50 + FIRST_BATCH);
    const duration = otelValue(points('gripstream.publish.duration')) as OtelHistogram;
    expect(duration.count).toBe(Math.ceil(published / SAMPLE_EVERY));
    expect(otel.get('gripstream.publish.duration')!.descriptor.unit).toBe('s');
    expect(otel.has('gripstream.redis.up')).toBe(false);
  });

  it('serves the text exposition format, 405 for other methods', async () => {
    const es = new EventStream({ history: false });
    defer(() => es.close());
    const handler = es.metricsHandler();
    expect(es.metricsHandler()).toBe(handler);
    const server = http.createServer((req, res) => void handler(req, res));
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    defer(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE gripstream_events_published_total counter');
    expect(text).toContain('# TYPE gripstream_publish_duration_seconds histogram');
    // Without history, no history series.
    expect(text).not.toContain('gripstream_history_events');
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.text()).toBe('metrics are read with GET\n');
  });
});

