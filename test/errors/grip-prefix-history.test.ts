import { describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError, type EventStreamOptions } from '../../src/index.js';
import { thrown } from '../support/thrown.js';

describe('gripPrefix follows the channel-name rule', () => {
  it("' ' (white space at an edge) is refused: routed names are trimmed, publishes are not", () => {
    for (const prefix of [' ', ' events-', 'events- ', '\u00a0x']) {
      const err = thrown(() => new EventStream({ gripPrefix: prefix }));
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect(err.message).toMatch(/^gripPrefix must not start or end with white space, got .* \(a string\): channel names are trimmed/);
    }
  });

  it('a lone surrogate is refused', () => {
    const err = thrown(() => new EventStream({ gripPrefix: '\uD800' }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^gripPrefix must be well-formed Unicode/);
  });

  it("'' and 'events-' stay accepted", () => {
    expect(() => new EventStream({ gripPrefix: '', history: false }).close()).not.toThrow();
    expect(() => new EventStream({ gripPrefix: 'my events-', history: false }).close()).not.toThrow();
  });
});

describe('history byte bounds', () => {
  it('maxTotalBytes below maxBytes, both given, is refused', () => {
    const err = thrown(() => new EventStream({ history: { maxBytes: 2000, maxTotalBytes: 1000 } }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^history\.maxTotalBytes \(1000\) is smaller than history\.maxBytes \(2000\)/);
  });

  it('maxTotalBytes alone, below the default maxBytes, stays accepted (a small store)', () => {
    const options: EventStreamOptions = { history: { maxTotalBytes: 1024 } };
    expect(() => new EventStream(options).close()).not.toThrow();
  });
});
