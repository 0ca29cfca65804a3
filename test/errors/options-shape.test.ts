import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, getEventStreamSingleton, InvalidConfigError, InvalidEventError, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { thrown } from '../support/thrown.js';

// Options are read once, from the own keys of a plain object: what is checked is what is used.

afterEach(runCleanups);

const cast = (value: unknown): EventStreamOptions => value as EventStreamOptions;

describe('options are own keys of a plain object', () => {
  it('an inherited typo is not silently accepted', () => {
    const err = thrown(() => new EventStream(cast(Object.create({ gripReliabe: true }))));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toContain('"gripReliabe" (inherited keys are not read)');
  });

  it('a polluted Object.prototype.grip is not honoured (publishes do not go to that proxy)', async () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.grip = 'http://127.0.0.1:1/';
    let es: EventStream;
    try {
      es = new EventStream({ history: false });
    } finally {
      delete proto.grip;
    }
    defer(() => es.close());
    // With GRIP on, this publish would reject: nothing listens on port 1.
    await expect(es.publishEvent('c', { event: 'm', data: 1 })).resolves.toBeUndefined();
  });

  it('the singleton and the constructor agree on an object with inherited keys', () => {
    const key = `own-keys-${Math.random()}`;
    const first = getEventStreamSingleton({}, key);
    defer(() => first.close());
    const second = thrown(() => getEventStreamSingleton(cast(Object.create({ grip: 'http://127.0.0.1:1/' })), key));
    const direct = thrown(() => new EventStream(cast(Object.create({ grip: 'http://127.0.0.1:1/' }))));
    expect(second).toBeInstanceOf(InvalidConfigError);
    expect(second.message).toBe(direct.message);
  });

  it('a Map or a Date as options is refused with a clear message', () => {
    expect(thrown(() => new EventStream(cast(new Map()))).message).toBe(
      'EventStream options must be a plain object ({ ... }), got a Map: write the options as an object literal, e.g. { ...options }',
    );
    expect(thrown(() => new EventStream(cast(new Date(0)))).message).toMatch(/^EventStream options must be a plain object \(\{ \.\.\. \}\), got a Date/);
  });

  it('a getter that throws becomes InvalidConfigError with the original as cause', () => {
    const boom = new Error('boom');
    const options = { get grip(): string { throw boom; } };
    const err = thrown(() => new EventStream(cast(options)));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toContain('cannot be read: boom');
    expect(err.cause).toBe(boom);
  });

  it('a Proxy that throws on ownKeys becomes InvalidConfigError with the cause', () => {
    const boom = new Error('no keys');
    const options = new Proxy({}, { ownKeys: () => { throw boom; } });
    const err = thrown(() => new EventStream(cast(options)));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.cause).toBe(boom);
  });
});

describe('nested option objects', () => {
  it('redis: an unknown key gets the nearest known name', () => {
    const err = thrown(() => new EventStream(cast({ redis: { url: 'redis://127.0.0.1:1', comandTimeout: 1 } })));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toBe('unknown redis option "comandTimeout" (did you mean "commandTimeout"?)');
  });

  it('presence: an unknown key gets the nearest known name', () => {
    expect(thrown(() => new EventStream(cast({ presence: { heartbeat: 1 } }))).message).toBe('unknown presence option "heartbeat" (did you mean "heartbeatMs"?)');
  });

  it('keyPrefix: 5 is refused, in history and in redis', () => {
    expect(thrown(() => new EventStream(cast({ history: { keyPrefix: 5 } }))).message).toMatch(/^history\.keyPrefix must be a string, got 5: /);
    expect(thrown(() => new EventStream(cast({ redis: { url: 'redis://127.0.0.1:1', keyPrefix: 5 } }))).message).toMatch(/^redis\.keyPrefix must be a string, got 5: /);
  });

  it('history: [] is refused', () => {
    const err = thrown(() => new EventStream(cast({ history: [] })));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^history must be options .*got an array of 0/);
  });

  it('history: a Map is refused as not plain', () => {
    expect(thrown(() => new EventStream(cast({ history: new Map() }))).message).toMatch(/^history must be a plain object/);
  });
});

describe('batches', () => {
  it('a getter on an event that throws: InvalidEventError with the original as cause', async () => {
    const es = new EventStream({ history: false });
    defer(() => es.close());
    const boom = new Error('getter boom');
    const event = { event: 'm', get data(): unknown { throw boom; } };
    const err = await es.publishEvents('c', [event]).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err!.message).toContain('getter boom');
    expect(err!.cause).toBe(boom);
  });
});
