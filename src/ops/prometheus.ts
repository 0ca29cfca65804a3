import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INSTRUMENTS, type Instrument } from './instruments.js';
import { LATENCY_BUCKETS, type Metrics, type Samples } from '../telemetry/Metrics.js';

/** A scrape handler for `node:http`, Express, Next.js pages (connect style). */
export type MetricsHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => Promise<void>;

/**
 * Registers every instrument of `metrics` in `registry` as prom-client metrics that read the
 * plain counters when scraped (a `collect` hook), so nothing is counted twice and a scrape
 * costs what it reads. Histograms are rendered from gripstream's own bucket arrays at scrape
 * time too (BucketHistogram): nothing of prom-client runs on the publish path. Returns a
 * function that detaches them (close(); nothing to detach today, kept for the caller's shape).
 */
export function registerPrometheus(metrics: Metrics, registry: Registry): () => void {
  const detach: Array<() => void> = [];
  for (const instrument of INSTRUMENTS) {
    if (!instrument.present(metrics)) continue;
    const off = register(instrument, metrics, registry);
    if (off !== undefined) detach.push(off);
  }
  return () => {
    for (const off of detach) off();
  };
}

function register(instrument: Instrument, metrics: Metrics, registry: Registry): (() => void) | undefined {
  const base = { name: instrument.prom, help: instrument.help, labelNames: instrument.labels, registers: [registry] };
  if (instrument.kind === 'histogram') {
    new BucketHistogram({ ...base, buckets: [...LATENCY_BUCKETS] }, instrument.samples(metrics));
    return undefined;
  }
  const read = instrument.read;
  if (instrument.kind === 'counter') {
    new Counter({
      ...base,
      // A prom-client Counter only goes up by inc(): set it to the running total at each scrape.
      collect() {
        this.reset();
        for (const { labels, value } of read(metrics)) this.inc(labels, value);
      },
    });
    return undefined;
  }
  new Gauge({
    ...base,
    collect() {
      for (const { labels, value } of read(metrics)) this.set(labels, value);
    },
  });
  return undefined;
}

/** One line of a histogram's exposition: `_bucket` (with `le`), `_sum` or `_count`. */
interface HistogramLine {
  metricName: string;
  labels: { le?: number | string };
  value: number;
}

/**
 * A prom-client Histogram whose figures come from gripstream's bucket arrays when the registry
 * reads it (what `registry.metrics()` and `getMetricsAsJSON()` call), instead of from
 * `observe()`: same name, help, type and bucket layout, so the exposition is the one a
 * prom-client Histogram writes.
 */
class BucketHistogram extends Histogram {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    configuration: ConstructorParameters<typeof Histogram>[0],
    private readonly samples: Samples,
  ) {
    super(configuration);
    this.metricName = configuration.name;
    this.metricHelp = configuration.help;
  }

  override async get(): ReturnType<Histogram['get']> {
    return this.getForPromString() as unknown as ReturnType<Histogram['get']>;
  }

  /** What the registry renders as text (prom-client asks for this one first when it exists). */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramLine[] }> {
    const { counts, count, sum } = this.samples;
    const values: HistogramLine[] = [];
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += counts[i]!;
      values.push({ metricName: `${this.metricName}_bucket`, labels: { le: LATENCY_BUCKETS[i]! }, value: cumulative });
    }
    values.push({ metricName: `${this.metricName}_bucket`, labels: { le: '+Inf' }, value: count });
    values.push({ metricName: `${this.metricName}_sum`, labels: {}, value: sum });
    values.push({ metricName: `${this.metricName}_count`, labels: {}, value: count });
    return { name: this.metricName, help: this.metricHelp, type: 'histogram', aggregator: 'sum', values };
  }
}

/** The handler answering a scrape with the registry's text exposition. */
export function scrapeHandler(registry: Registry): MetricsHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('metrics are read with GET\n');
      return;
    }
    const text = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') res.end();
    else res.end(text);
  };
}

export { Registry };
