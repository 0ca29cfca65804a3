import { InvalidConfigError } from '../errors.js';
import type { Logger } from '../types.js';
import { DEFAULT_LOGGER } from './defaults.js';

const REQUIRED = ['error', 'warn', 'info'] as const;

/**
 * The `logger` option: `undefined` → the default (`console`); `false` → nothing; anything
 * else must have `error`, `warn` and `info` functions.
 */
export function resolveLogger(option: unknown): Logger | undefined {
  if (option === undefined) return DEFAULT_LOGGER;
  if (option === false) return undefined;
  if (typeof option !== 'object' || option === null) {
    throw new InvalidConfigError(
      `logger must be an object with error, warn and info methods (console, pino, winston) or false, got ${describe(option)}`,
    );
  }
  // A logger is a live object (pino, winston), used as given, not copied; only its methods are read here.
  const methods = readMethods(option);
  const missing = REQUIRED.filter((level) => typeof methods[level] !== 'function');
  if (missing.length > 0) {
    throw new InvalidConfigError(
      `logger is missing ${missing.map((level) => `${level}()`).join(', ')}: pass console, a pino or winston logger, or any object with error, warn and info methods (or false for no lines)`,
    );
  }
  const debug = methods.debug;
  if (debug !== undefined && typeof debug !== 'function') {
    throw new InvalidConfigError(`logger.debug must be a function when given, got ${describe(debug)}`);
  }
  return option as Logger;
}

/** The level methods, read once; a getter or Proxy that throws becomes InvalidConfigError. */
function readMethods(logger: object): Record<string, unknown> {
  try {
    const source = logger as Record<string, unknown>;
    return { error: source.error, warn: source.warn, info: source.info, debug: source.debug };
  } catch (err) {
    throw new InvalidConfigError(`logger cannot be read: ${err instanceof Error ? err.message : String(err)}: pass console, a pino or winston logger, or false`, { cause: err });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
