import { EventStream, type EventStreamOptions } from './EventStream.js';
import type { EventMap } from './types.js';

// On globalThis under a registry symbol: survives Next.js dev reloads (module re-evaluation)
// and is shared by separately bundled copies of this module (app and pages router bundles).
const REGISTRY = Symbol.for('gripstream.singletons');

type Registry = Map<string, EventStream>;

function registry(): Registry {
  const holder = globalThis as { [REGISTRY]?: Registry };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
}

/**
 * `E` types the instance's events, as `new EventStream<E>()` does. It is not checked against
 * the instance already registered: give every caller of one key the same map.
 */
export interface GetEventStreamSingleton {
  <E extends object = EventMap>(config?: EventStreamOptions | null, key?: string): EventStream<E>;
  /** The reference's README calls it with `new`; that works and returns the same instance. */
  new <E extends object = EventMap>(config?: EventStreamOptions | null, key?: string): EventStream<E>;
}

/**
 * The EventStream registered under `key`, created from `config` on first use. Later calls
 * with the same key return that instance and ignore their `config`.
 */
export const getEventStreamSingleton = function getEventStreamSingleton(
  config?: EventStreamOptions | null,
  key = 'eventStream',
): EventStream {
  const instances = registry();
  let instance = instances.get(key);
  if (instance === undefined) {
    instance = new EventStream(config);
    instances.set(key, instance);
  }
  return instance;
} as GetEventStreamSingleton;
