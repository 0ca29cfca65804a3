import { InvalidConfigError } from '../errors.js';

/**
 * Where incident lines go: the shape Node apps already pass around. `console`, a `pino` or
 * `winston` logger, or any object with these methods fits. Each line is ONE string argument,
 * so every logger prints it as it is (pino puts it in `msg`).
 */
export interface Logger {
  /** Something stopped working: a dependency down, failed publishes or reads, a hook that threw. */
  error(message: string): unknown;
  /** Something the server handled but an operator should know: clients dropped by the bound. */
  warn(message: string): unknown;
  /** Something works again: a dependency that answers after being down. */
  info(message: string): unknown;
  /** Accepted for the shape of common loggers; incidents are never written at this level. */
  debug?(message: string): unknown;
}

/** The levels an incident line is written at. */
export type IncidentLevel = 'error' | 'warn' | 'info';

const REQUIRED = ['error', 'warn', 'info'] as const;

/**
 * The `logger` option: `undefined` → `console` (see docs/operations.md: only incidents are
 * written, each once, so the default is quiet on a healthy server and loud on a broken one);
 * `false` → nothing; anything else must have `error`, `warn` and `info` functions.
 */
export function resolveLogger(option: unknown): Logger | undefined {
  if (option === undefined) return console;
  if (option === false) return undefined;
  if (typeof option !== 'object' || option === null) {
    throw new InvalidConfigError(
      `logger must be an object with error, warn and info methods (console, pino, winston) or false, got ${describe(option)}`,
    );
  }
  const missing = REQUIRED.filter((level) => typeof (option as Record<string, unknown>)[level] !== 'function');
  if (missing.length > 0) {
    throw new InvalidConfigError(
      `logger is missing ${missing.map((level) => `${level}()`).join(', ')}: pass console, a pino or winston logger, or any object with error, warn and info methods (or false for no lines)`,
    );
  }
  const debug = (option as Record<string, unknown>).debug;
  if (debug !== undefined && typeof debug !== 'function') {
    throw new InvalidConfigError(`logger.debug must be a function when given, got ${describe(debug)}`);
  }
  return option as Logger;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
