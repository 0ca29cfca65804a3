import { expect } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';

/**
 * The InvalidConfigError `work` throws, checked for its class and code; fails the test when
 * it throws nothing or something else.
 */
export function configError(work: () => unknown): InvalidConfigError {
  let caught: unknown;
  try {
    work();
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error('expected an InvalidConfigError, got none');
  expect(caught).toBeInstanceOf(InvalidConfigError);
  expect((caught as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
  return caught as InvalidConfigError;
}
