import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';

/**
 * The options as read once: own enumerable keys of a plain object, copied. Inherited keys are
 * never read (a polluted `Object.prototype.grip` must not turn GRIP on), and reading each key
 * once means a getter cannot answer one thing to the check and another to the use; the
 * singleton compares the same copy. A getter or Proxy that throws becomes InvalidConfigError.
 */
export function ownOptions(config: unknown, what = 'EventStream options'): Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidConfigError(`${what} must be an object, got ${describe(config)}: pass { ... }, null or nothing`);
  }
  try {
    assertPlain(config, what);
    // No prototype: a key left out must read as undefined, never as a polluted Object.prototype's.
    const copy = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(config)) copy[key] = (config as Record<string, unknown>)[key];
    return copy;
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    throw new InvalidConfigError(`${what} cannot be read: ${err instanceof Error ? err.message : String(err)}: pass a plain object of values`, { cause: err });
  }
}

/**
 * A Map, a Date or a class instance would have its options read from its own keys only, and
 * silently lose what sits on its prototype: refused, with the spread that makes it plain.
 */
function assertPlain(value: object, what: string): void {
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) return;
  const inherited = typeof proto === 'object' && proto !== null && proto.constructor === Object ? Object.keys(proto) : [];
  const detail = inherited.length > 0 ? ` whose prototype holds ${inherited.map((key) => JSON.stringify(key)).join(', ')} (inherited keys are not read)` : '';
  throw new InvalidConfigError(`${what} must be a plain object ({ ... }), got ${describe(value)}${detail}: write the options as an object literal, e.g. { ...options }`);
}
