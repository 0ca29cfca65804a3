import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, getEventStreamSingleton, InvalidConfigError } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// getEventStreamSingleton: one instance per key, for the life of the process — including
// across re-evaluation of the module (Next.js dev reloads) and separately bundled copies.

afterEach(runCleanups);

const REGISTRY = Symbol.for('gripstream.singletons');
type Registry = Map<string, EventStream>;

function registry(): Registry | undefined {
  return (globalThis as { [REGISTRY]?: Registry })[REGISTRY];
}

let counter = 0;
/** A key no other test uses; its instance is closed and unregistered afterwards. */
function freshKey(): string {
  const key = `test-key-${process.pid}-${++counter}`;
  defer(async () => {
    await registry()?.get(key)?.close();
    registry()?.delete(key);
  });
  return key;
}

describe('getEventStreamSingleton', () => {
  it('returns the same instance for the same key, and an EventStream', () => {
    const key = freshKey();
    const a = getEventStreamSingleton({}, key);
    const b = getEventStreamSingleton(null, key);
    expect(a).toBeInstanceOf(EventStream);
    expect(b).toBe(a);
  });

  it('returns different instances for different keys', () => {
    const a = getEventStreamSingleton({}, freshKey());
    const b = getEventStreamSingleton({}, freshKey());
    expect(a).not.toBe(b);
  });

  it("defaults the key to 'eventStream'", () => {
    defer(async () => {
      await registry()?.get('eventStream')?.close();
      registry()?.delete('eventStream');
    });
    const implicit = getEventStreamSingleton();
    expect(getEventStreamSingleton({})).toBe(implicit);
    expect(getEventStreamSingleton({}, 'eventStream')).toBe(implicit);
    expect(getEventStreamSingleton({}, 'other-than-default-' + freshKey())).not.toBe(implicit);
  });

  it('works with `new`, as the reference README writes it', () => {
    const k1 = freshKey();
    const k2 = freshKey();
    const eventStream1 = new getEventStreamSingleton({}, k1);
    const eventStream2 = new getEventStreamSingleton({}, k2);
    expect(eventStream1).toBeInstanceOf(EventStream);
    expect(eventStream2).toBeInstanceOf(EventStream);
    expect(eventStream1).not.toBe(eventStream2);
    expect(new getEventStreamSingleton({}, k1)).toBe(eventStream1);
    expect(getEventStreamSingleton({}, k1)).toBe(eventStream1);
    expect(typeof eventStream1).toBe('function'); // still callable to make routes
  });

  it('refuses a later call whose options differ from the first call\'s; equal ones or none get the instance', () => {
    const key = freshKey();
    const first = getEventStreamSingleton({ retry: 1000, onConnect: () => undefined }, key);
    // The same options written again (a new hook from the same source, as after a dev reload).
    expect(getEventStreamSingleton({ retry: 1000, onConnect: () => undefined }, key)).toBe(first);
    expect(getEventStreamSingleton(null, key)).toBe(first);
    expect(getEventStreamSingleton(undefined, key)).toBe(first);
    expect(() => getEventStreamSingleton({ retry: 2000 }, key)).toThrow(InvalidConfigError);
    expect(() => getEventStreamSingleton({ keepAliveInterval: -1 }, key)).toThrow(/keepAliveInterval/);
  });

  it('the singleton serves routes and publishes like any EventStream', async () => {
    const key = freshKey();
    const app = express();
    app.get('/e', getEventStreamSingleton({}, key)('test'));
    const { url } = await startApp(app);
    const client = await connectSse(`${url}/e`, { types: ['message'] });
    // Published through a second lookup, as another module of the app would.
    await getEventStreamSingleton({}, key).publishEvent('test', { event: 'message', data: { name: 'John' } });
    expect((await client.nextEvent('message')).data).toBe('{"name":"John"}');
  });

  it('survives re-evaluation of the module (a fresh copy of singleton.ts sees the same instance)', async () => {
    const key = freshKey();
    const original = getEventStreamSingleton({}, key);
    // Cache-busting queries make the module runner evaluate the file again, as a dev reload does.
    const specifier1: string = '../../src/singleton.ts?reload=1';
    const specifier2: string = '../../src/singleton.ts?reload=2';
    const copy1 = (await import(specifier1)) as typeof import('../../src/singleton.js');
    const copy2 = (await import(specifier2)) as typeof import('../../src/singleton.js');
    // Really distinct module instances, or this test proves nothing.
    expect(copy1.getEventStreamSingleton).not.toBe(getEventStreamSingleton);
    expect(copy2.getEventStreamSingleton).not.toBe(copy1.getEventStreamSingleton);
    expect(copy1.getEventStreamSingleton({}, key)).toBe(original);
    expect(copy2.getEventStreamSingleton({}, key)).toBe(original);
    // And an instance first made by a copy is seen by the original module.
    const key2 = freshKey();
    const fromCopy = copy2.getEventStreamSingleton({}, key2);
    expect(getEventStreamSingleton({}, key2)).toBe(fromCopy);
  });

  it('keeps its registry on globalThis under Symbol.for("gripstream.singletons")', () => {
    const key = freshKey();
    const instance = getEventStreamSingleton({}, key);
    expect(registry()?.get(key)).toBe(instance);
  });
});
