import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INSTRUMENTS, type Instrument } from './instruments.js';
import { LATENCY_BUCKETS, type Metrics } from './Metrics.js';

/** A scrape handler for `node:http`, Express, Next.js pages (connect style). */
export type MetricsHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => Promise<void>;

/**
 * Registers every instrument of `metrics` in `registry` as prom-client metrics that read the
 * plain counters when scraped (a `collect` hook), so nothing is counted twice and a scrape
 * costs what it reads. Histograms receive the sampled observations as they happen. Returns a
 * function that detaches the histograms (close()).
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
    const histogram = new Histogram({ ...base, buckets: [...LATENCY_BUCKETS] });
    return instrument.samples(metrics).listen((seconds) => histogram.observe(seconds));
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
