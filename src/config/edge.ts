import type { Publisher } from '@fanoutio/grip';
import { InvalidConfigError } from '../errors.js';
import type { GripPublisherSpec, RequestHooks } from '../types.js';
import { DEFAULT_GRIP_TIMEOUT, DEFAULT_KEEP_ALIVE_INTERVAL, MAX_TIMER_DELAY } from './defaults.js';
import { gripPrefixOf, publisherFromSpec } from './grip.js';
import { boundHooks } from './hooks.js';
import { describeValue as describe } from '../describeValue.js';
import { assertKnownKeys } from './knownKeys.js';

/** Every option `new EdgeEventStream()` knows: the GRIP side of EventStream's, and its request hooks. */
export const KNOWN_EDGE_OPTIONS: readonly string[] = [
  'grip',
  'gripPrefix',
  'gripTimeout',
  'keepAliveInterval',
  'retry',
  'authorize',
  'onConnect',
  'onRefused',
];

const EDGE_HOOKS = ['authorize', 'onConnect', 'onRefused'] as const;

/** The options of an EdgeEventStream, checked and defaulted. */
export interface EdgeSettings {
  readonly publisher: Publisher;
  readonly gripPrefix: string;
  readonly gripTimeout: number;
  readonly keepAliveInterval: number;
  readonly retry: number | undefined;
  /** Bound to the options object: a hook written as a method may use `this`. */
  readonly hooks: RequestHooks;
}

/** Reads `new EdgeEventStream(options)`'s options; at the edge `grip` is required (a proxy holds every stream). */
export function resolveEdgeOptions(options: unknown): EdgeSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError(`EdgeEventStream options must be an object with at least \`grip\`, got ${describe(options)}: e.g. new EdgeEventStream({ grip: process.env.GRIP_URL })`);
  }
  const record = ownKeysOf(options);
  assertKnownKeys(record, KNOWN_EDGE_OPTIONS, 'EdgeEventStream option');
  for (const name of EDGE_HOOKS) {
    if (record[name] !== undefined && typeof record[name] !== 'function') {
      throw new InvalidConfigError(`${name} must be a function, got ${typeof record[name]}`);
    }
  }
  if (record.retry !== undefined && !(Number.isSafeInteger(record.retry) && (record.retry as number) >= 0)) {
    throw new InvalidConfigError(`retry must be a non-negative integer of milliseconds, got ${String(record.retry)}`);
  }
  const publisher = publisherFromSpec(record.grip as GripPublisherSpec | undefined);
  if (publisher === undefined) {
    throw new InvalidConfigError(
      `EdgeEventStream needs \`grip\` (a GRIP URL or config), got ${JSON.stringify(record.grip)}: at the edge a GRIP proxy holds the streams (check that GRIP_URL is set)`,
    );
  }
  const keepAliveInterval = positive(record.keepAliveInterval as number | undefined, DEFAULT_KEEP_ALIVE_INTERVAL, 'keepAliveInterval');
  return {
    publisher,
    // The same rule as EventStream's: the prefix goes into every Grip-Channel entry.
    gripPrefix: gripPrefixOf(record.gripPrefix),
    gripTimeout: positive(record.gripTimeout as number | undefined, DEFAULT_GRIP_TIMEOUT, 'gripTimeout'),
    keepAliveInterval,
    retry: record.retry as number | undefined,
    // No onDisconnect among them: the proxy never says when a stream ends (the key is refused above).
    hooks: boundHooks(record as RequestHooks),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || value > MAX_TIMER_DELAY) {
    throw new InvalidConfigError(`${name} must be a positive number of milliseconds up to ${MAX_TIMER_DELAY}, got ${String(value)}`);
  }
  return value;
}

/**
 * Own keys, each read once (a getter that throws becomes InvalidConfigError). Not ownOptions:
 * a web runtime may hand over an object literal from another realm, whose prototype is not this
 * realm's Object.prototype.
 */
function ownKeysOf(options: object): Record<string, unknown> {
  const copy = Object.create(null) as Record<string, unknown>;
  try {
    for (const key of Object.keys(options)) copy[key] = (options as Record<string, unknown>)[key];
  } catch (err) {
    throw new InvalidConfigError(`EdgeEventStream options cannot be read: ${err instanceof Error ? err.message : String(err)}: pass a plain object of values`, { cause: err });
  }
  return copy;
}
