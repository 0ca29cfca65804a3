import type { ChannelBus } from '../bus/ChannelBus.js';
import type { MetricsSettings } from '../config/eventStream.js';
import type { HealthMonitor } from './health.js';
import type { Metrics, MetricsViews } from '../telemetry/Metrics.js';
import { registerOpenTelemetry } from './otel.js';

/** What an EventStream's metrics read from. */
export interface MetricsSources {
  readonly metrics: Metrics;
  readonly bus: ChannelBus;
  /** What the history keeps (src/backendTelemetry.ts knows which stores can tell). */
  readonly history: MetricsViews['history'];
  readonly health: HealthMonitor;
  readonly hasGrip: boolean;
}

/**
 * Points the metrics at what they read, and registers the OpenTelemetry instruments when
 * metrics are on. Returns what detaches them at close(), if anything was registered.
 */
export function wireMetrics(sources: MetricsSources, settings: MetricsSettings): (() => void) | undefined {
  const { metrics, bus, history, health, hasGrip } = sources;
  const views: MetricsViews = {
    subscriptions: () => bus.subscriptionCount(),
    channels: () => bus.channelCount,
    topChannels: (n) => bus.topChannels(n),
    history,
    // The same state readiness answers from: the gauge and the probe never disagree.
    redisLink: () => health.stateOf('redis'),
    grip: () => hasGrip,
    gripLink: () => (hasGrip ? health.stateOf('grip') : undefined),
  };
  metrics.views = views;
  if (!settings.on) return undefined;
  return registerOpenTelemetry(metrics, settings.meterProvider);
}
