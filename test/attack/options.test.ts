/**
 * A careless caller's configuration: options of the wrong type or out of range must be refused
 * by `new EventStream()` with InvalidConfigError (ERR_INVALID_CONFIG), not accepted to fail
 * later; and the caller's own hooks and channel builders that throw must not crash the process,
 * hang a request, or leak its subscription.
 */
import { describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError, type EventStreamOptions } from '../../src/index.js';
import { RawClient } from '../support/raw.js';
import { expectRefusal, noneLeft, rawHead, serve, stillServes, watchForEscapes, WAIT_MS } from './harness.js';

watchForEscapes();

function construct(options: unknown): unknown {
  try {
    const es = new EventStream(options as EventStreamOptions);
    void es.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('options of the wrong type or range → InvalidConfigError', () => {
  it.each<[string, unknown]>([
    ['keepAliveInterval as a string', { keepAliveInterval: '1000' }],
    ['keepAliveInterval 0', { keepAliveInterval: 0 }],
    ['keepAliveInterval -1', { keepAliveInterval: -1 }],
    ['keepAliveInterval NaN', { keepAliveInterval: Number.NaN }],
    ['keepAliveInterval Infinity', { keepAliveInterval: Number.POSITIVE_INFINITY }],
    ['keepAliveInterval 2^31', { keepAliveInterval: 2 ** 31 }],
    ['maxBufferedBytes as a string', { maxBufferedBytes: '1mb' }],
    ['maxBufferedBytes 0', { maxBufferedBytes: 0 }],
    ['maxBufferedBytes NaN', { maxBufferedBytes: Number.NaN }],
    ['retry -1', { retry: -1 }],
    ['retry 1.5', { retry: 1.5 }],
    ['retry as a string', { retry: '5' }],
    ['grip a number', { grip: 42 }],
    ['grip an empty object', { grip: {} }],
    ['grip not a URL', { grip: 'not a url' }],
    ['gripReliable without grip', { gripReliable: true }],
    ['history null (JSON configs have nulls)', { history: null }],
    ['history a string', { history: 'yes' }],
    ['history a number', { history: 42 }],
    ['gripPrefix a number', { grip: 'http://127.0.0.1:1/', gripPrefix: 42 }],
    ['gripReliable as a string', { gripReliable: 'yes' }],
    ['authorize not a function', { authorize: 'yes' }],
    ['onConnect not a function', { onConnect: 5 }],
    ['onDisconnect not a function', { onDisconnect: {} }],
    ['the options a number', 42],
    ['the options a string', 'grip'],
    ['the options an array', []],
  ])('%s', (_name, options) => {
    const err = construct(options);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
  });

  // Found by this suite (fixed): the history sub-options, an infinite maxBufferedBytes and a gripPrefix with `,`/CRLF are accepted silently.
  it.each<[string, unknown]>([
    ['history.maxEvents -1', { history: { maxEvents: -1 } }],
    ['history.maxEvents as a string', { history: { maxEvents: '5' } }],
    ['history.maxEvents NaN', { history: { maxEvents: Number.NaN } }],
    ['history.maxAge -1', { history: { maxAge: -1 } }],
    ['history.redis a number', { history: { redis: 42 } }],
    ['history.redis not a URL', { history: { redis: 'not a url' } }],
    ['maxBufferedBytes Infinity (no bound at all)', { maxBufferedBytes: Number.POSITIVE_INFINITY }],
    ['gripPrefix with a comma (splits Grip-Channel)', { grip: 'http://127.0.0.1:1/', gripPrefix: 'a,b' }],
    ['gripPrefix with a double quote (merges Grip-Channel entries)', { grip: 'http://127.0.0.1:1/', gripPrefix: 'a"' }],
    ['gripPrefix with CRLF (header injection)', { grip: 'http://127.0.0.1:1/', gripPrefix: 'a\r\nX-Injected: 1' }],
  ])('%s', (_name, options) => {
    const err = construct(options);
    expect(err).toBeInstanceOf(InvalidConfigError);
  });

  // Found by this suite (fixed): `es()` and `es([])` make a route that answers every request 400 "no channel"; refuse at declaration.
  it('a route declared with no channel at all → InvalidChannelError when declared', () => {
    const es = new EventStream();
    expect(() => (es as unknown as () => unknown)()).toThrow(/channel/);
    expect(() => es([])).toThrow(/channel/);
    void es.close();
  });
});

describe('hooks and builders that misbehave', () => {
  // The caller's own errors go to Express's error handler (next(err)): a 500, whatever its body.
  it('authorize that throws → 500, nothing subscribed', async () => {
    const target = await serve({ authorize: () => { throw new Error('authorize boom'); } }, (app, es) => app.get('/a', es('a')));
    const client = await rawHead(target.port, { path: '/a' });
    expect(client.head?.status).toBe(500);
    await noneLeft(target.es);
  });

  it('authorize that rejects → 500, nothing subscribed', async () => {
    const target = await serve({ authorize: () => Promise.reject(new Error('authorize boom')) }, (app, es) => app.get('/a', es('a')));
    const client = await rawHead(target.port, { path: '/a' });
    expect(client.head?.status).toBe(500);
    await noneLeft(target.es);
  });

  it('authorize that never answers: the client gives up, nothing is left subscribed', async () => {
    const target = await serve({ authorize: () => new Promise<boolean>(() => undefined) }, (app, es) => app.get('/a', es('a')));
    const client = await RawClient.get(target.port, { path: '/a' });
    client.destroy();
    await noneLeft(target.es);
    expect(target.es.stats().connections).toBe(0);
  });

  it.each<[string, () => unknown, number]>([
    ['throws', () => { throw new Error('builder boom'); }, 500],
    ['returns a number', () => 42, 400],
    ['returns [42]', () => [42], 400],
    ['returns null', () => null, 400],
    ['returns []', () => [], 400],
    ['returns 101 channels', () => Array.from({ length: 101 }, (_, i) => `c${i}`), 400],
  ])('a channel builder that %s → a definite refusal', async (_name, builder, status) => {
    const target = await serve({}, (app, es) => app.get('/b', es(builder as () => string[])));
    const client = await rawHead(target.port, { path: '/b' });
    if (status === 500) expect(client.head?.status).toBe(500); // the builder's own error → next(err)
    else await expectRefusal(client, status);
    await noneLeft(target.es);
  });

  // Found by the attack suite: an onConnect that threw left its subscriber on the bus for ever (fixed in request/subscribe.ts).
  it('onConnect that throws: the stream ends, and its subscription with it', async () => {
    const target = await serve({ onConnect: () => { throw new Error('onConnect boom'); } }, (app, es) => app.get('/a', es('a')));
    const client = await RawClient.get(target.port, { path: '/a' });
    await client.waitFor((c) => c.closed || c.events.length > 0, 'an answer', WAIT_MS);
    client.destroy();
    await noneLeft(target.es);
  });

  // Found by the attack suite: an onDisconnect that threw was thrown from the response's 'close' listener, crashing the process (fixed in request/subscribe.ts).
  it('onDisconnect that throws does not crash the process', async () => {
    const target = await serve({ onDisconnect: () => { throw new Error('onDisconnect boom'); } }, (app, es) => app.get('/a', es('a')));
    const client = await RawClient.get(target.port, { path: '/a' });
    await client.waitForEvents(1, WAIT_MS);
    client.destroy();
    await noneLeft(target.es);
    await stillServes(target, '/a', 'a');
  });

  it('hooks see each stream once; 200 quick connects leave no connection behind', async () => {
    let connects = 0;
    let disconnects = 0;
    const target = await serve(
      { onConnect: () => void connects++, onDisconnect: () => void disconnects++ },
      (app, es) => app.get('/a', es('a')),
    );
    const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.get(target.port, { path: '/a', retain: false })));
    await Promise.all(clients.map((c) => c.waitForEvents(1, WAIT_MS)));
    for (const c of clients) c.destroy();
    await noneLeft(target.es);
    expect([connects, disconnects]).toEqual([200, 200]);
  });
});
