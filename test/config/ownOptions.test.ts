import { describe, expect, it } from 'vitest';
import { assertKnownKeys, nearestName } from '../../src/config/knownKeys.js';
import { ownOptions } from '../../src/config/ownOptions.js';
import { configError } from './configError.js';

describe('ownOptions', () => {
  it('copies own keys into an object with no prototype (a polluted Object.prototype is never read)', () => {
    const copy = ownOptions({ a: 1 });
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect({ ...copy }).toEqual({ a: 1 });
  });

  it('names what it was given and how to write it', () => {
    expect(configError(() => ownOptions('x', 'history')).message).toBe('history must be an object, got "x" (a string): pass { ... }, null or nothing');
    expect(configError(() => ownOptions(new (class Settings {})())).message).toBe(
      'EventStream options must be a plain object ({ ... }), got a Settings: write the options as an object literal, e.g. { ...options }',
    );
  });
});

describe('assertKnownKeys', () => {
  it('suggests the nearest name for a typo, else lists the known ones', () => {
    expect(configError(() => assertKnownKeys({ grp: 1 }, ['grip', 'retry'], 'option')).message).toBe('unknown option "grp" (did you mean "grip"?)');
    expect(configError(() => assertKnownKeys({ zzzzzzzz: 1 }, ['grip', 'retry'], 'option')).message).toBe('unknown option "zzzzzzzz" (known: grip, retry)');
    expect(nearestName('KEEPALIVEINTERVAL', ['keepAliveInterval'])).toBe('keepAliveInterval');
  });
});
