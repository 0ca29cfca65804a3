import { describe, expect, it } from 'vitest';
import { DEFAULT_LOGGER } from '../../src/config/defaults.js';
import { resolveLogger } from '../../src/config/logger.js';
import { configError } from './configError.js';

describe('resolveLogger (the `logger` option)', () => {
  it('left out: console; false: no lines; a logger: itself', () => {
    expect(resolveLogger(undefined)).toBe(DEFAULT_LOGGER);
    expect(DEFAULT_LOGGER).toBe(console);
    expect(resolveLogger(false)).toBeUndefined();
    const logger = { error() {}, warn() {}, info() {}, debug() {} };
    expect(resolveLogger(logger)).toBe(logger);
  });

  it.each([
    [true, 'logger must be an object with error, warn and info methods (console, pino, winston) or false, got boolean'],
    [{ error() {}, warn() {} }, 'logger is missing info(): pass console, a pino or winston logger, or any object with error, warn and info methods (or false for no lines)'],
    [{ error() {}, warn() {}, info() {}, debug: 'yes' }, 'logger.debug must be a function when given, got "yes"'],
  ])('%j is refused', (option, message) => {
    expect(configError(() => resolveLogger(option)).message).toBe(message);
  });
});

describe('a logger whose methods cannot be read (finding 16)', () => {
  it('a throwing getter is an InvalidConfigError at the constructor', () => {
    const logger = { warn() {}, info() {}, get error(): never { throw new Error('boom'); } };
    expect(configError(() => resolveLogger(logger)).message).toBe('logger cannot be read: boom: pass console, a pino or winston logger, or false');
  });
});
