import { metrics as otelMetrics, type BatchObservableCallback, type Histogram, type MeterProvider, type Observable } from '@opentelemetry/api';
import { InvalidConfigError } from '../errors.js';
import { INSTRUMENTS, type ReadInstrument } from './instruments.js';
import { LATENCY_BUCKETS, type Metrics, type Samples } from '../telemetry/Metrics.js';

/** The name of gripstream's OpenTelemetry meter (its instrumentation scope). */
export const METER_NAME = 'gripstream';

/**
 * Creates gripstream's OpenTelemetry instruments on `provider` (the global one by default:
 * a no-op until the app registers an SDK, so this costs nothing then). Counts are observable
 * instruments read at collection time from the same plain counters the Prometheus handler
 * reads. Histograms too are handed over at collection, never on the publish path (see
 * HistogramFeed). Returns a function that removes them (close()).
 */
export function registerOpenTelemetry(metrics: Metrics, provider?: MeterProvider): () => void {
  if (provider === undefined) return registerOn(metrics, otelMetrics.getMeterProvider());
  try {
    return registerOn(metrics, provider);
  } catch (err) {
    // The app's provider failed (a broken SDK setup): a typed refusal of the option, with its error as cause.
    throw new InvalidConfigError(
      `metrics.meterProvider failed while gripstream's instruments were created: ${err instanceof Error ? err.message : String(err)}: pass a working OpenTelemetry MeterProvider, or leave it out for the global one`,
      { cause: err },
    );
  }
}

function registerOn(metrics: Metrics, provider: MeterProvider): () => void {
  const meter = provider.getMeter(METER_NAME);
  const observed: Array<{ instrument: ReadInstrument; observable: Observable }> = [];
  const feeds: HistogramFeed[] = [];
  for (const instrument of INSTRUMENTS) {
    if (!instrument.present(metrics)) continue;
    const options = { description: instrument.help, unit: instrument.unit };
    if (instrument.kind === 'histogram') {
      const histogram = meter.createHistogram(instrument.otel, {
        ...options,
        advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS] },
      });
      feeds.push(new HistogramFeed(instrument.samples(metrics), histogram));
      continue;
    }
    const observable =
      instrument.kind === 'counter'
        ? meter.createObservableCounter(instrument.otel, options)
        : instrument.kind === 'updown'
          ? meter.createObservableUpDownCounter(instrument.otel, options)
          : meter.createObservableGauge(instrument.otel, options);
    observed.push({ instrument, observable });
  }
  const callback: BatchObservableCallback = (result) => {
    for (const feed of feeds) feed.flush();
    for (const { instrument, observable } of observed) {
      for (const { labels, value } of instrument.read(metrics)) result.observe(observable, value, labels);
    }
  };
  const observables = observed.map(({ observable }) => observable);
  meter.addBatchObservableCallback(callback, observables);
  return () => {
    meter.removeBatchObservableCallback(callback, observables);
  };
}

/**
 * OpenTelemetry's API has no observable histogram: a Histogram takes single values through
 * `record()`, and an exporter can only be fed pre-bucketed figures by its SDK internals. So
 * at each collection (in the batch callback, which the SDK runs before it reads the
 * synchronous instruments), the samples counted since the last collection are recorded, each
 * bucket's new samples as their mean, that many times: bucket counts, count and sum are
 * exact; min and max are those of the bucket means. The cost is a record per sample at
 * collection time (samples are 1 publish in 64), none on the publish path. Counters of bucket
 * counts would have been cheaper still, but no OTel backend would read them as a histogram.
 */
class HistogramFeed {
  /** Counts and sums per bucket as of the last collection. */
  private readonly seenCounts: number[];
  private readonly seenSums: number[];

  constructor(
    private readonly samples: Samples,
    private readonly histogram: Histogram,
  ) {
    // Samples from before the SDK saw this EventStream are handed over at the first collection.
    this.seenCounts = samples.counts.map(() => 0);
    this.seenSums = samples.sums.map(() => 0);
  }

  flush(): void {
    const { counts, sums } = this.samples;
    for (let i = 0; i < counts.length; i++) {
      const fresh = counts[i]! - this.seenCounts[i]!;
      if (fresh === 0) continue;
      const mean = (sums[i]! - this.seenSums[i]!) / fresh;
      this.seenCounts[i] = counts[i]!;
      this.seenSums[i] = sums[i]!;
      for (let n = 0; n < fresh; n++) this.histogram.record(mean);
    }
  }
}
