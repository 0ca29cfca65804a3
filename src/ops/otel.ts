import { metrics as otelMetrics, type BatchObservableCallback, type MeterProvider, type Observable } from '@opentelemetry/api';
import { INSTRUMENTS, type ReadInstrument } from './instruments.js';
import { LATENCY_BUCKETS, type Metrics } from './Metrics.js';

/** The name of gripstream's OpenTelemetry meter (its instrumentation scope). */
export const METER_NAME = 'gripstream';

/**
 * Creates gripstream's OpenTelemetry instruments on `provider` (the global one by default:
 * a no-op until the app registers an SDK, so this costs nothing then). Counts are observable
 * instruments read at collection time from the same plain counters the Prometheus handler
 * reads; histograms are recorded as sampled. Returns a function that removes them (close()).
 */
export function registerOpenTelemetry(metrics: Metrics, provider: MeterProvider = otelMetrics.getMeterProvider()): () => void {
  const meter = provider.getMeter(METER_NAME);
  const observed: Array<{ instrument: ReadInstrument; observable: Observable }> = [];
  const detach: Array<() => void> = [];
  for (const instrument of INSTRUMENTS) {
    if (!instrument.present(metrics)) continue;
    const options = { description: instrument.help, unit: instrument.unit };
    if (instrument.kind === 'histogram') {
      const histogram = meter.createHistogram(instrument.otel, {
        ...options,
        advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS] },
      });
      detach.push(instrument.samples(metrics).listen((seconds) => histogram.record(seconds)));
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
    for (const { instrument, observable } of observed) {
      for (const { labels, value } of instrument.read(metrics)) result.observe(observable, value, labels);
    }
  };
  const observables = observed.map(({ observable }) => observable);
  meter.addBatchObservableCallback(callback, observables);
  return () => {
    meter.removeBatchObservableCallback(callback, observables);
    for (const off of detach) off();
  };
}
