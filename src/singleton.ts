import { EventStream, type EventStreamOptions } from './EventStream.js';
import { InvalidConfigError } from './errors.js';
import { ownOptions } from './config/ownOptions.js';
import { verifierSettingsOf } from './config/tokenVerifierMark.js';
import type { EventMap } from './types.js';

// On globalThis under a registry symbol: survives Next.js dev reloads (module re-evaluation)
// and is shared by separately bundled copies of this module (app and pages router bundles).
const REGISTRY = Symbol.for('gripstream.singletons');

// The options each instance was made from, beside (not inside) the registry, whose shape other
// copies of this package share.
const CONFIGS = Symbol.for('gripstream.singletonOptions');

type Registry = Map<string, EventStream>;

function registry(): Registry {
  const holder = globalThis as { [REGISTRY]?: Registry };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
}

function configs(): WeakMap<EventStream, EventStreamOptions | null | undefined> {
  const holder = globalThis as { [CONFIGS]?: WeakMap<EventStream, EventStreamOptions | null | undefined> };
  holder[CONFIGS] ??= new WeakMap();
  return holder[CONFIGS];
}

/**
 * The type of {@link getEventStreamSingleton}: callable, and also with `new`.
 * `E` types the instance's events, as `new EventStream<E>()` does. It is not checked against
 * the instance already registered: give every caller of one key the same map.
 */
export interface GetEventStreamSingleton {
  /** The instance for `key`, created from `config` on the first call. */
  <E extends object = EventMap>(config?: EventStreamOptions | null, key?: string): EventStream<E>;
  /**
   * `@fanoutio/eventstream`'s README calls it with `new`; that works and returns the same
   * instance as calling it.
   */
  new <E extends object = EventMap>(config?: EventStreamOptions | null, key?: string): EventStream<E>;
}

/**
 * The EventStream registered under `key`, created from `config` on first use. Later calls
 * with the same key return that instance: without `config` (or with `null`), or with options
 * equal to the first call's. With other options it throws `InvalidConfigError`, since the
 * instance cannot follow them and which module's call came first is not up to the caller
 * (in Next.js, whichever route loaded first would decide whether GRIP is on).
 *
 * Options count as equal when their values are (strings, numbers, nested plain objects and
 * arrays), functions when their source text is, and other objects (a Redis client, a store,
 * a Publisher) when their class is: a Next.js dev reload makes new hooks and clients from
 * the same code, and must not be refused. A TokenVerifier counts as equal when what it
 * accepts is (key, algorithms, issuer, audience, limits): a verifier with another secret is
 * another gate, and is refused.
 */
export const getEventStreamSingleton = function getEventStreamSingleton(
  config?: EventStreamOptions | null,
  key = 'eventStream',
): EventStream {
  const instances = registry();
  const registered = instances.get(key);
  if (registered === undefined) {
    const instance = new EventStream(config);
    instances.set(key, instance);
    configs().set(instance, config);
    return instance;
  }
  // An instance another copy of the package registered has no recorded options: not compared.
  if (config !== undefined && config !== null && configs().has(registered)) {
    // Read as the constructor reads them (own keys of a plain object), or the comparison and
    // the instance would disagree on what was asked for.
    const found = differences(normalized(configs().get(registered)), normalized(ownOptions(config) as EventStreamOptions), '');
    if (found.length > 0) {
      throw new InvalidConfigError(
        `getEventStreamSingleton(options, ${JSON.stringify(key)}): the instance under this key was made with other options (different: ${found.join(', ')}), and these cannot apply to it: make it in one module and import it everywhere, call getEventStreamSingleton() without options after the first call, or use another key`,
      );
    }
  }
  return registered;
} as GetEventStreamSingleton;

/** `null`, `{}`, unset keys and an empty GRIP URL (an unset `process.env.GRIP_URL`) all mean "default". */
function normalized(config: EventStreamOptions | null | undefined): Record<string, unknown> {
  const entries = Object.entries(config ?? {}).filter(([name, value]) => value !== undefined && !(name === 'grip' && (value === '' || value === null)));
  return Object.fromEntries(entries);
}

/** Where `a` and `b` differ, as `grip` or `history.maxEvents`; empty when they do not. */
function differences(a: unknown, b: unknown, path: string): string[] {
  const here = path === '' ? 'the options' : path;
  if (a === b) return [];
  if (typeof a === 'function' || typeof b === 'function') {
    return typeof a === 'function' && typeof b === 'function' && String(a) === String(b) ? [] : [here];
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return [here];
  // A key given as bytes (a GRIP `key` Buffer): its content is what matters.
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    return ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) ? [] : [here];
  }
  // A TokenVerifier by what it accepts (key, algorithms, issuer, audience, limits): two of the
  // same class with other secrets are not the same gate. A dev reload's new verifier from the
  // same code and key still compares equal.
  const verifierA = verifierSettingsOf(a);
  const verifierB = verifierSettingsOf(b);
  if (verifierA !== undefined || verifierB !== undefined) return differences(verifierA, verifierB, here);
  if (isKeyMaterial(a) || isKeyMaterial(b)) return a === b ? [] : [here];
  if (a instanceof URL || b instanceof URL) return String(a) === String(b) ? [] : [here];
  if (!isPlain(a) || !isPlain(b)) return a.constructor?.name === b.constructor?.name ? [] : [here];
  const found: string[] = [];
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const at = path === '' ? name : `${path}.${name}`;
    found.push(...differences((a as Record<string, unknown>)[name], (b as Record<string, unknown>)[name], at));
  }
  return found;
}

/** A KeyObject or CryptoKey inside a verifier's settings: its content cannot be read, so only the same key is equal. */
function isKeyMaterial(value: object): boolean {
  const name = value.constructor?.name;
  return name === 'KeyObject' || name === 'PublicKeyObject' || name === 'CryptoKey';
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(value);
}
