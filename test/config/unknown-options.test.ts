// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError, type EventStreamOptions } from '../../src/index.js';

describe('options EventStream does not know, or of the wrong type', () => {
  it.each([
    ['gripReliabe', 'gripReliable'],
    ['keepAliveIntervall', 'keepAliveInterval'],
    ['maxBufferBytes', 'maxBufferedBytes'],
    ['authorise', 'authorize'],
  ])('an unknown option %s is refused with InvalidConfigError naming %s', (typo, meant) => {
    const attempt = (): unknown => new EventStream({ [typo]: true } as EventStreamOptions);
    expect(attempt).toThrow(InvalidConfigError);
    expect(attempt).toThrow(`"${meant}"`);
  });

  it('an unknown history option and wrongly typed options are refused too', () => {
    expect(() => new EventStream({ history: { maxEvent: 10 } } as EventStreamOptions)).toThrow(/"maxEvents"/);
    expect(() => new EventStream({ gripReliable: 'yes' } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream({ authorize: true } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream({ gripPrefix: 7 } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream('http://grip' as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
  });
});
