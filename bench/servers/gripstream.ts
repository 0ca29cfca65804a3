/**
 * gripstream, this repository's library, from source. In-process delivery only (no GRIP),
 * driven exactly like the reference it mirrors: `run(req, res, channels)` from a plain
 * `node:http` server and `await publishEvent(channel, { event, data })`.
 *
 * `--history` keeps the default in-memory event history (for Last-Event-ID resume);
 * without it the server runs with `{ history: false }`, which is what a pure fan-out
 * deployment would choose. The orchestrator runs both to show what history costs.
 *
 * The cross-instance scenario starts it as one of several instances:
 * `--redis=<url> --key-prefix=<p>` (the Redis engine) or `--grip=<control uri>` (an origin
 * behind Pushpin).
 *
 * `--metrics=off` runs with `{ metrics: false }`; `--metrics=on` with metrics on as an operator
 * runs them: the OpenTelemetry SDK collecting every second into an in-memory exporter, and
 * the Prometheus handler's registry rendered every second, as a scrape would. The two show
 * what metrics cost on the broadcast and per-user scenarios.
 */
import { InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { EventStream, type EventStreamOptions } from '../../src/index.ts';
import { serve } from './harness.ts';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const redis = arg('redis');
const grip = arg('grip');
const withHistory = process.argv.includes('--history');
const metrics = arg('metrics');
/**
 * Every second by default: harsher than any real setup (Prometheus scrapes every 15 s to 1 min,
 * the OTel SDK exports every minute by default), so that collection falls inside every round.
 * BENCH_METRICS_INTERVAL_MS changes it (60000: only the per-publish cost is measured).
 */
const SCRAPE_EVERY_MS = Number(process.env.BENCH_METRICS_INTERVAL_MS ?? 1000);

/** Metrics collected the way an operator's setup collects them, every second, in this process. */
function metricsOn(): EventStreamOptions['metrics'] {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: SCRAPE_EVERY_MS,
  });
  return { meterProvider: new MeterProvider({ readers: [reader] }) };
}

const metricsOption: EventStreamOptions = metrics === 'off' ? { metrics: false } : metrics === 'on' ? { metrics: metricsOn() } : {};
const eventStream =
  redis !== undefined
    ? new EventStream({ redis: { url: redis, keyPrefix: arg('key-prefix') ?? 'bench:' } })
    : grip !== undefined
      ? new EventStream({ grip })
      : new EventStream(withHistory ? { ...metricsOption } : { history: false, ...metricsOption });

if (metrics === 'on') {
  const registry = new Registry();
  eventStream.metricsHandler({ registry });
  setInterval(() => void registry.metrics(), SCRAPE_EVERY_MS).unref();
}

serve({
  subscribe: (req, res, channel) => eventStream.run(req, res, [channel]),
  publish: (channel, event) => eventStream.publishEvent(channel, event),
});
