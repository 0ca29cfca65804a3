import type { MeterProvider } from '@opentelemetry/api';
import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { EventStreamConfig, IncidentHook, IncidentOptions, Logger, RequestHooks } from '../types.js';
import { DEFAULT_GRIP_TIMEOUT, DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_METRICS, MAX_TIMER_DELAY } from './defaults.js';
import { engineSettingsOf, reliableHistoryOf, type EngineSettings } from './engine.js';
import { assertGripReliableType, gripPrefixOf, gripSettingsOf, publisherFromSpec, type GripSettings } from './grip.js';
import { historyOptionOf } from './history.js';
import { boundHooks } from './hooks.js';
import { assertKnownKeys } from './knownKeys.js';
import { resolveLogger } from './logger.js';
import { ownOptions } from './ownOptions.js';
import { presenceOptionOf } from './presence.js';
import { redisOptionOf } from './redis.js';
import { subscribeGateOf, type SubscribeGate } from './tokens.js';

/**
 * Every option `new EventStream()` knows. An unknown key is refused: in JavaScript a typo
 * (`gripReliabe: true`) would otherwise quietly turn a guarantee off.
 */
export const KNOWN_OPTIONS: readonly string[] = [
  'grip',
  'gripPrefix',
  'gripReliable',
  'gripTimeout',
  'keepAliveInterval',
  'maxBufferedBytes',
  'retry',
  'history',
  'redis',
  'authorize',
  'onConnect',
  'onDisconnect',
  'metrics',
  'tokens',
  'presence',
  'onRefused',
  'logger',
  'onIncident',
];

/** Keys of `metrics` when it is options. */
export const KNOWN_METRICS_OPTIONS: readonly string[] = ['meterProvider'];

const FUNCTION_OPTIONS = ['authorize', 'onConnect', 'onDisconnect', 'onRefused', 'onIncident'] as const;

/**
 * What `new EventStream(options)` accepts: EventStreamOptions from its parts (EventStream.ts,
 * which declares it, imports this file). `tokens` names the TokenVerifier class of auth/, above
 * this layer: it is read as it comes and recognised by subscribeGateOf.
 */
export type EventStreamInput = EventStreamConfig & RequestHooks & IncidentOptions & { tokens?: unknown };

/** Metrics as the EventStream wires them. */
export interface MetricsSettings {
  /** Histograms and the OpenTelemetry instruments (counters always count). */
  readonly on: boolean;
  /** Where the instruments are created; undefined: the global MeterProvider. */
  readonly meterProvider: MeterProvider | undefined;
}

/** The options of an EventStream, read once, checked and defaulted: what its parts are built from. */
export interface EventStreamSettings {
  readonly keepAliveInterval: number;
  readonly maxBufferedBytes: number;
  /** Sent as the SSE `retry` field at stream start; undefined: none sent. */
  readonly retry: number | undefined;
  /** Bounds every GRIP publish and the proxy's readiness check. */
  readonly gripTimeout: number;
  readonly grip: GripSettings | undefined;
  readonly engine: EngineSettings;
  readonly metrics: MetricsSettings;
  readonly tokens: SubscribeGate | undefined;
  readonly logger: Logger | undefined;
  readonly onIncident: IncidentHook | undefined;
  /** Bound to the options object: a hook written as a method may use `this`. */
  readonly hooks: RequestHooks;
}

/**
 * Reads `new EventStream(options)`'s options: first their shape (known keys, and the types
 * whose meaning a wrong type would silently change), then each value's range, then how they
 * fit together (gripReliable's needs). Throws InvalidConfigError naming the value and the fix.
 */
export function resolveEventStreamOptions(config: unknown): EventStreamSettings {
  const options = ownOptions(config);
  assertKnownKeys(options, KNOWN_OPTIONS, 'option');
  for (const name of FUNCTION_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidConfigError(`${name} must be a function, got ${describe(options[name])}: pass a function or leave ${name} out`);
    }
  }
  assertGripReliableType(options.gripReliable);
  const metrics = metricsOf(options.metrics);
  const gripPrefix = gripPrefixOf(options.gripPrefix);
  const presence = presenceOptionOf(options.presence);
  const history = historyOptionOf(options.history);
  const redis = redisOptionOf(options.redis);
  const input = options as EventStreamInput;
  const keepAliveInterval = positiveNumber(input.keepAliveInterval, DEFAULT_KEEP_ALIVE_INTERVAL, 'keepAliveInterval');
  if (keepAliveInterval > MAX_TIMER_DELAY) {
    // setInterval silently turns longer delays into 1 ms: a keep-alive flood.
    throw new InvalidConfigError(
      `keepAliveInterval must be at most ${MAX_TIMER_DELAY} ms (about 24.8 days), got ${keepAliveInterval}: e.g. 20000 (the default)`,
    );
  }
  const maxBufferedBytes = positiveNumber(input.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 'maxBufferedBytes');
  const retry = retryOf(input.retry);
  const gripTimeout = positiveNumber(input.gripTimeout, DEFAULT_GRIP_TIMEOUT, 'gripTimeout');
  if (gripTimeout > MAX_TIMER_DELAY) {
    throw new InvalidConfigError(`gripTimeout must be at most ${MAX_TIMER_DELAY} ms, got ${gripTimeout}: e.g. 10000 (the default)`);
  }
  const tokens = subscribeGateOf(input.tokens);
  const publisher = publisherFromSpec(input.grip);
  const engine = engineSettingsOf(redis, history, presence);
  const grip = gripSettingsOf(publisher, gripPrefix, input.gripReliable === true, reliableHistoryOf(engine));
  return {
    keepAliveInterval,
    maxBufferedBytes,
    retry,
    gripTimeout,
    grip,
    engine,
    metrics,
    tokens,
    logger: resolveLogger(input.logger),
    onIncident: input.onIncident,
    hooks: boundHooks(input),
  };
}

function metricsOf(metrics: unknown): MetricsSettings {
  if (metrics !== undefined && typeof metrics !== 'boolean' && (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))) {
    throw new InvalidConfigError(`metrics must be true, false or { meterProvider }, got ${describe(metrics)} (leave it out for the default: on)`);
  }
  if (typeof metrics !== 'object') return { on: metrics === undefined ? DEFAULT_METRICS : metrics, meterProvider: undefined };
  const options = ownOptions(metrics, 'metrics');
  assertKnownKeys(options, KNOWN_METRICS_OPTIONS, 'metrics option');
  return { on: true, meterProvider: meterProviderOf(options.meterProvider) };
}

/**
 * Checked here, before any backend (a Redis connection) is built: a provider without getMeter
 * would otherwise fail only when the instruments are registered, after the link was opened.
 */
function meterProviderOf(provider: unknown): MeterProvider | undefined {
  if (provider === undefined) return undefined;
  let getMeter: unknown;
  try {
    getMeter = typeof provider === 'object' && provider !== null ? (provider as { getMeter?: unknown }).getMeter : undefined;
  } catch (err) {
    throw new InvalidConfigError(`metrics.meterProvider cannot be read: ${err instanceof Error ? err.message : String(err)}: pass an OpenTelemetry MeterProvider`, { cause: err });
  }
  if (typeof getMeter !== 'function') {
    throw new InvalidConfigError(
      `metrics.meterProvider must be an OpenTelemetry MeterProvider (an object with getMeter()), got ${describe(provider)}: e.g. new MeterProvider() from @opentelemetry/sdk-metrics, or leave it out for the global one`,
    );
  }
  return provider as MeterProvider;
}

function retryOf(retry: number | undefined): number | undefined {
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new InvalidConfigError(
      `retry must be a non-negative integer of milliseconds, got ${describe(retry)}: e.g. retry: 3000 (a number), or leave it out`,
    );
  }
  return retry;
}

function positiveNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidConfigError(`${name} must be a positive, finite number, got ${describe(value)}: e.g. ${fallback} (the default), or leave it out`);
  }
  return value;
}
