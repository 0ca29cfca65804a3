import { MetricReader } from '@opentelemetry/sdk-metrics';

/**
 * The OpenTelemetry SDK's reader, collecting only when the test calls `collect()` (no export
 * timer): what a test reads is what the instruments held at that moment.
 */
export class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
