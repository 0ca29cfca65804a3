import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidEventError } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';

// The data check must see what JSON.stringify will send: the result of each toJSON(key).

afterEach(runCleanups);

async function refusal(data: unknown): Promise<InvalidEventError> {
  const es = new EventStream({ history: false });
  defer(() => es.close());
  const err = await es.publishEvent('c', { event: 'm', data }).then(
    () => undefined,
    (e: unknown) => e as InvalidEventError,
  );
  if (err === undefined) throw new Error(`published ${JSON.stringify(data)} without an error`);
  expect(err).toBeInstanceOf(InvalidEventError);
  return err;
}

describe('toJSON results are checked', () => {
  it('a toJSON returning a Map is refused (JSON would send {})', async () => {
    const err = await refusal({ toJSON: () => new Map([['a', 1]]) });
    expect(err.message).toBe(
      'event data cannot be sent as JSON: data is a Map, returned by its toJSON(), which JSON sends as {}; data must be JSON (objects, arrays, strings, numbers, booleans, null): convert it first, e.g. Object.fromEntries(map) or [...set]',
    );
  });

  it('a toJSON returning a function or a Symbol is refused (JSON would send empty data)', async () => {
    expect((await refusal({ toJSON: () => () => 1 })).message).toContain('data is a function, returned by its toJSON()');
    expect((await refusal({ toJSON: () => Symbol('s') })).message).toContain('data is Symbol(s) (a symbol), returned by its toJSON()');
  });

  it('a nested toJSON returning [function] is refused with its path', async () => {
    const err = await refusal({ a: { toJSON: () => [() => 1] } });
    expect(err.message).toContain('data.a[0] is a function (inside what toJSON() returned)');
  });

  it('toJSON gets its key, as JSON.stringify gives it', async () => {
    const keys: string[] = [];
    const spy = { toJSON: (key: string) => (keys.push(key), key === 'x' ? new Set() : 1) };
    const err = await refusal({ x: spy });
    expect(keys[0]).toBe('x');
    expect(err.message).toContain('data.x is a Set');
  });

  it('a toJSON that throws names the path and its message, without the BigInt advice', async () => {
    const err = await refusal({ a: [{ toJSON: () => { throw new Error('not today'); } }] });
    expect(err.message).toBe(
      'event data cannot be sent as JSON: data.a[0].toJSON() threw: not today; make that toJSON() return JSON, or convert the value before publishing',
    );
  });

  it('a cycle through toJSON gets a clear message, without the String(big) advice', async () => {
    const loop = { toJSON(): unknown { return { again: { toJSON: loop.toJSON } }; } };
    const err = await refusal(loop);
    expect(err.message).toMatch(/^event data cannot be sent as JSON: data is nested too deeply for JSON/);
    expect(err.message).not.toContain('String(big)');
  });

  it('a plain cycle says the data refers to itself', async () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    const err = await refusal(a);
    expect(err.message).toMatch(/^event data cannot be sent as JSON: data refers to itself/);
    expect(err.message).not.toContain('String(big)');
  });

  it('a Date (toJSON returning a string) and BigInt advice are unchanged', async () => {
    const es = new EventStream({ history: false });
    defer(() => es.close());
    await es.publishEvent('c', { event: 'm', data: { at: new Date(0) } });
    expect((await refusal({ n: 1n })).message).toContain('String(big)');
  });
});
