/**
 * A careless or hostile caller of the publish API: every field of an event with every wrong
 * type, sizes, control characters, getters and toJSON that throw, cycles, BigInt, huge arrays,
 * odd containers for a batch, odd channel names. Each call resolves, or rejects with a typed
 * GripstreamError and its `code`; a rejected call delivers nothing (a watching client proves it);
 * nothing escapes as an unhandled rejection.
 */
import { describe, expect, it } from 'vitest';
import { GripstreamError, InvalidChannelError, InvalidEventError, type ServerSentEvent } from '../../src/index.js';
import { RawClient } from '../support/raw.js';
import { observeFor } from '../support/wait.js';
import { serve, watchForEscapes, WAIT_MS, type Target } from './harness.js';

watchForEscapes();

/** A server with one watching client on `a`; both history settings matter (ids, appends). */
async function watched(history: boolean): Promise<{ target: Target; watcher: RawClient }> {
  const target = await serve(history ? {} : { history: false }, (app, es) => app.get('/a', es('a')));
  const watcher = await RawClient.get(target.port, { path: '/a' });
  await watcher.waitForEvents(1, WAIT_MS);
  return { target, watcher };
}

/** Rejects with a GripstreamError of `type` and delivers nothing to the watcher (then a marker proves the stream still works). */
async function refusedWhole(
  history: boolean,
  call: (target: Target) => Promise<unknown>,
  type: new (...args: never[]) => GripstreamError,
): Promise<GripstreamError> {
  const { target, watcher } = await watched(history);
  const err = await call(target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call must reject').toBeInstanceOf(type);
  expect((err as GripstreamError).code).toMatch(/^ERR_/);
  await target.es.publishEvent('a', { event: 'marker' });
  await watcher.waitFor((c) => c.events.some((e) => e.event === 'marker'), 'the marker', WAIT_MS);
  expect(watcher.events.map((e) => e.event)).toEqual(['stream-open', 'marker']);
  return err as GripstreamError;
}

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

describe.each([true, false])('event fields (history %s)', (history) => {
  it.each<[string, unknown]>([
    ['event missing', { data: 1 }],
    ['event a number', { event: 5 }],
    ['event null', { event: null }],
    ['event an object', { event: { toString: () => 'm' } }],
    ['event a Symbol', { event: Symbol('m') }],
    ['event with LF', { event: 'a\nb' }],
    ['event with CR', { event: 'a\rb' }],
    ['event with NUL', { event: 'a\0b' }],
    ['id a number', { event: 'm', id: 5 }],
    ['id null', { event: 'm', id: null }],
    ['id with CRLF', { event: 'm', id: '1\r\n2' }],
    ['id with NUL', { event: 'm', id: '1\u00002' }],
    ['id with leading space', { event: 'm', id: ' 1' }],
    ['data BigInt', { event: 'm', data: 10n }],
    ['data cyclic', { event: 'm', data: cyclic }],
    // JSON would send these as nothing, or as {}: refused rather than silently emptied.
    ['data a function', { event: 'm', data: () => 1 }],
    ['data a Symbol', { event: 'm', data: Symbol('s') }],
    ['data a Map', { event: 'm', data: new Map([['a', 1]]) }],
    ['data a Set nested in an object', { event: 'm', data: { tags: new Set(['a']) } }],
    ['data whose toJSON throws', { event: 'm', data: { toJSON: () => { throw new Error('toJSON boom'); } } }],
    ['data with a getter that throws', { event: 'm', data: { get x(): never { throw new Error('getter boom'); } } }],
    ['data a nested BigInt deep in an array', { event: 'm', data: [1, [2, [3, { n: 4n }]]] }],
    ['the event null', null],
    ['the event a string', 'message'],
    ['the event a number', 42],
  ])('%s → InvalidEventError, nothing delivered', async (_name, event) => {
    await refusedWhole(history, (t) => t.es.publishEvent('a', event as ServerSentEvent), InvalidEventError);
  });

  it('a bad event in the middle of a batch → InvalidEventError, none of the batch delivered', async () => {
    const batch = [{ event: 'm', data: 1 }, { event: 'm', data: 10n }, { event: 'm', data: 3 }];
    await refusedWhole(history, (t) => t.es.publishEvents('a', batch), InvalidEventError);
  });

  // Found by this suite (fixed): `publishEvents('a', [ev, , ev])` (a hole) → TypeError (history off) or HistoryError (on), after ev #1 was delivered.
  it('a sparse batch (a hole) → InvalidEventError, nothing delivered', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const batch = [{ event: 'm', data: 1 }, , { event: 'm', data: 3 }] as ServerSentEvent[];
    await refusedWhole(history, (t) => t.es.publishEvents('a', batch), InvalidEventError);
  });

  // Found by this suite (fixed): `publishEvent('a', { get event() { throw new Error() } })` rejects with the getter's plain Error, not a GripstreamError.
  it('an event whose `event` getter throws → InvalidEventError', async () => {
    const event = {
      get event(): string {
        throw new Error('getter boom');
      },
    };
    await refusedWhole(history, (t) => t.es.publishEvent('a', event), InvalidEventError);
  });

  // Found by this suite (fixed): a batch array (Proxy) whose element access throws → the plain Error escapes, not a GripstreamError.
  it('a batch whose element access throws → InvalidEventError', async () => {
    const batch = new Proxy([{ event: 'm' }], {
      get(target, key) {
        if (key === '0') throw new Error('element boom');
        return Reflect.get(target, key) as unknown;
      },
    });
    await refusedWhole(history, (t) => t.es.publishEvents('a', batch), InvalidEventError);
  });

  // Issue 16 item 12 (publishEvents('a', null) threw a TypeError): the same defect for every non-array.
  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'message'],
    ['a Set', new Set([{ event: 'm' }])],
    ['an object', { 0: { event: 'm' }, length: 1 }],
  ])('a batch that is %s → InvalidEventError', async (_name, batch) => {
    await refusedWhole(history, (t) => t.es.publishEvents('a', batch as ServerSentEvent[]), InvalidEventError);
  });
});

describe('values that are valid and must arrive intact', () => {
  it.each<[string, unknown, string]>([
    ['undefined data', undefined, ''],
    ['NaN', Number.NaN, 'null'],
    ['-0', -0, '0'],
    ['a Date', new Date(0), '"1970-01-01T00:00:00.000Z"'],
    ['a string with every line break', 'a\r\nb\rc\nd', '"a\\r\\nb\\rc\\nd"'],
    ['a string with NUL and lone surrogates', 'x\u0000\ud800y', '"x\\u0000\\ud800y"'],
    ['an object with __proto__ as own key', JSON.parse('{"__proto__":{"polluted":1}}') as unknown, '{"__proto__":{"polluted":1}}'],
  ])('%s', async (_name, data, wire) => {
    const { target, watcher } = await watched(true);
    await target.es.publishEvent('a', { event: 'm', data });
    await watcher.waitForEvents(2, WAIT_MS);
    expect(watcher.events[1]!.data).toBe(wire);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // Within maxBufferedBytes (1 MiB): bigger single events are test/bus/slow-client/'s subject.
  it('an event name of 256 KB and a 200,000-element array arrive whole', async () => {
    const { target, watcher } = await watched(false);
    const name = 'n'.repeat(256 * 1024);
    await target.es.publishEvent('a', { event: name, data: new Array(200_000).fill(0) });
    await watcher.waitForEvents(2, 20_000);
    expect(watcher.events[1]!.event).toBe(name);
    expect((JSON.parse(watcher.events[1]!.data) as unknown[]).length).toBe(200_000);
  }, 30_000);

  it('a batch of 20,000 events arrives complete and in order', async () => {
    const { target, watcher } = await watched(true);
    const batch = Array.from({ length: 20_000 }, (_, i) => ({ event: 'm', data: i }));
    await target.es.publishEvents('a', batch);
    await watcher.waitForEvents(20_001, 20_000);
    expect(watcher.events.slice(1).every((e, i) => e.data === String(i))).toBe(true);
  }, 30_000);

  it('mutating the event and the batch after the call changes nothing that is sent', async () => {
    const { target, watcher } = await watched(true);
    const event = { event: 'm', data: { n: 1 } };
    const batch = [event];
    const pending = target.es.publishEvents('a', batch);
    event.data.n = 2;
    batch.push({ event: 'm', data: { n: 3 } });
    await pending;
    await observeFor(50); // a second event would have been written in the same tick
    expect(watcher.events.slice(1).map((e) => e.data)).toEqual(['{"n":1}']);
  });

  it('an empty batch resolves and sends nothing', async () => {
    const { target, watcher } = await watched(true);
    await target.es.publishEvents('a', []);
    await target.es.publishEvent('a', { event: 'marker' });
    await watcher.waitForEvents(2, WAIT_MS);
    expect(watcher.events.map((e) => e.event)).toEqual(['stream-open', 'marker']);
  });
});

describe('channel argument', () => {
  it.each<[string, unknown]>([
    ['a number', 5],
    ['undefined', undefined],
    ['an object', { toString: () => 'a' }],
    ['empty', ''],
    ['only spaces', '   '],
    ['256 bytes', 'x'.repeat(256)],
    ['128 two-byte characters (256 bytes)', 'é'.repeat(128)],
    ['with CRLF', 'a\r\nb'],
    ['with NUL', 'a\0b'],
    ['with a comma (GRIP separator)', 'a,b'],
    ['with a semicolon (GRIP separator)', 'a;b'],
    ['with a TAB', 'a\tb'],
    ['with DEL', 'a\u007fb'],
    ['with a lone surrogate', 'a\ud800'],
  ])('%s → InvalidChannelError from publishEvent, getChannelPublisher and createChannelWritable', async (_name, channel) => {
    const { target } = await watched(true);
    const publish = await target.es.publishEvent(channel as string, { event: 'm' }).catch((e: unknown) => e);
    expect(publish).toBeInstanceOf(InvalidChannelError);
    expect((publish as InvalidChannelError).code).toBe('ERR_INVALID_CHANNEL');
    expect(() => target.es.getChannelPublisher(channel as string)).toThrow(InvalidChannelError);
    expect(() => target.es.createChannelWritable(channel as string)).toThrow(InvalidChannelError);
  });

  // Found by this suite (fixed): a channel named `__proto__` is served and published, but `stats().channels` shows `{}` (assigned onto a plain object).
  it('a channel named __proto__ works and shows in stats()', async () => {
    const target = await serve({}, (app, es) => app.get('/p', es('__proto__')));
    const client = await RawClient.get(target.port, { path: '/p' });
    await client.waitForEvents(1, WAIT_MS);
    await target.es.publishEvent('__proto__', { event: 'm' });
    await client.waitForEvents(2, WAIT_MS);
    expect(Object.entries(target.es.stats().channels)).toEqual([['__proto__', 1]]);
  });

  it('names that pass the rules (emoji, other scripts, spaces inside, look-alikes) publish to their own subscribers only', async () => {
    const names = ['🎉', 'комната', 'a b', 'a\u00a0b', 'A'];
    const target = await serve({}, (app, es) => app.get('/n/:i', es((req) => names[Number((req.params as Record<string, string>).i)]!)));
    const clients = await Promise.all(names.map((_, i) => RawClient.get(target.port, { path: `/n/${i}` })));
    await Promise.all(clients.map((c) => c.waitForEvents(1, WAIT_MS)));
    for (const [i, name] of names.entries()) await target.es.publishEvent(name, { event: 'm', data: i });
    for (const [i, client] of clients.entries()) {
      await client.waitForEvents(2, WAIT_MS);
      expect(client.events.slice(1).map((e) => e.data)).toEqual([String(i)]);
    }
  });
});

describe('the writable', () => {
  it('a bad event written → the stream errors with InvalidEventError; events before it were delivered', async () => {
    const { target, watcher } = await watched(true);
    const writable = target.es.createChannelWritable('a');
    const failed = new Promise<unknown>((resolve) => writable.on('error', resolve));
    writable.write({ event: 'm', data: 1 });
    writable.write({ event: 'bad\n' });
    expect(await failed).toBeInstanceOf(InvalidEventError);
    await watcher.waitForEvents(2, WAIT_MS);
    expect(watcher.events.slice(1).map((e) => e.data)).toEqual(['1']);
  });

  it('a non-object written → InvalidEventError on the stream, no crash', async () => {
    const { target } = await watched(true);
    const writable = target.es.createChannelWritable('a');
    const failed = new Promise<unknown>((resolve) => writable.on('error', resolve));
    // @ts-expect-error the types refuse it too; a JavaScript caller can still write it
    writable.write('message');
    expect(await failed).toBeInstanceOf(InvalidEventError);
  });
});

describe('after close()', () => {
  it('every publish API rejects with ClosedError (ERR_CLOSED), and close() twice is fine', async () => {
    const { target } = await watched(true);
    await target.es.close();
    await target.es.close();
    for (const call of [
      () => target.es.publishEvent('a', { event: 'm' }),
      () => target.es.publishEvents('a', [{ event: 'm' }]),
      () => target.es.getChannelPublisher('a').publishEvent({ event: 'm' }),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect((err as GripstreamError).code).toBe('ERR_CLOSED');
    }
  });
});
