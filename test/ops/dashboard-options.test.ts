import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, type DashboardOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { configError } from '../config/configError.js';

// dashboard(options) checked nothing: `authorise` (a typo) left the operator page open to anyone,
// `authorize: true` failed every request with a TypeError, and `interval: Infinity` overflowed
// Node's timer to 1 ms (finding 15). Refused at the dashboard() call now.

afterEach(runCleanups);

function stream(): EventStream {
  const es = new EventStream({ history: false });
  defer(() => es.close());
  return es;
}

describe('dashboard(options) is checked at the call', () => {
  it.each<[unknown, string | RegExp]>([
    [{ authorise: () => true }, 'unknown dashboard option "authorise" (did you mean "authorize"?)'],
    [{ authorize: true }, /^dashboard authorize must be a function, got true/],
    [{ authorize: 'admin' }, /^dashboard authorize must be a function, got "admin"/],
    [{ interval: Infinity }, /^dashboard interval must be an integer from 100 to 60000 \(milliseconds between updates\), got Infinity/],
    [{ interval: 1e12 }, /^dashboard interval must be an integer from 100 to 60000/],
    [{ interval: -1 }, /^dashboard interval must be an integer from 100 to 60000/],
    [{ interval: '1000' }, /^dashboard interval must be an integer from 100 to 60000 .*got "1000" \(a string\)/],
    [{ topChannels: -1 }, /^dashboard topChannels must be an integer from 0 to 100/],
    [{ topChannels: 'x' }, /^dashboard topChannels must be an integer from 0 to 100/],
    [Object.create({ authorize: () => true }), /^dashboard options must be a plain object/],
    [5, /^dashboard options must be an object, got 5/],
  ])('%j is refused', (options, message) => {
    const es = stream();
    const err = configError(() => es.dashboard(options as DashboardOptions));
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('a throwing getter is an InvalidConfigError', () => {
    const es = stream();
    const options = { get authorize(): never { throw new Error('boom'); } };
    expect(configError(() => es.dashboard(options)).message).toMatch(/^dashboard options cannot be read: boom/);
  });

  it('good options and none are accepted', () => {
    const es = stream();
    expect(typeof es.dashboard()).toBe('function');
    expect(typeof es.dashboard({ authorize: () => true, interval: 250, topChannels: 0 })).toBe('function');
  });
});
