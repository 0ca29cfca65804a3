import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  getEventStreamSingleton,
  GripPublishError,
  HistoryError,
  InvalidChannelError,
  InvalidConfigError,
  InvalidEventError,
  type EventStreamOptions,
} from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { thrown } from '../support/thrown.js';
import { deadPort } from '../support/server.js';

// One style for every message: what was wrong, the value received, what is accepted, the fix.
// Each test pins the parts a reader needs to fix the mistake from the message alone.

afterEach(runCleanups);

function make(options: EventStreamOptions): EventStream {
  const es = new EventStream(options);
  defer(() => es.close());
  return es;
}

describe('options', () => {
  it('retry as a string shows it is a string, and the number to write instead', () => {
    const err = thrown(() => new EventStream({ retry: '3000' } as unknown as EventStreamOptions));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toBe(
      'retry must be a non-negative integer of milliseconds, got "3000" (a string): e.g. retry: 3000 (a number), or leave it out',
    );
  });

  it('history.maxAge: 0 shows the 0, the default, and how to keep no history', () => {
    const err = thrown(() => new EventStream({ history: { maxAge: 0 } }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^history\.maxAge must be a positive number, got 0: .*300000 \(the default.*history: false$/);
  });

  it('gripReliable as a string says it must be a boolean', () => {
    const err = thrown(() => new EventStream({ gripReliable: 'true' } as unknown as EventStreamOptions));
    expect(err.message).toMatch(/^gripReliable must be true or false, got "true" \(a string\): write gripReliable: true/);
  });

  it('keepAliveInterval: -1 shows the value and the default', () => {
    const err = thrown(() => new EventStream({ keepAliveInterval: -1 }));
    expect(err.message).toBe('keepAliveInterval must be a positive, finite number, got -1: e.g. 20000 (the default), or leave it out');
  });
});

describe('configuration that cannot work is refused by the constructor', () => {
  it('a Redis URL that is not redis:// or rediss://', () => {
    const err = thrown(() => new EventStream({ redis: 'http://127.0.0.1:6379' }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toBe(
      "redis: the URL must start with redis:// or rediss:// (TLS), got \"http://127.0.0.1:6379\": e.g. 'redis://127.0.0.1:6379'",
    );
    expect(thrown(() => new EventStream({ redis: { url: 'localhost:6379' } }))).toBeInstanceOf(InvalidConfigError);
  });

  it('redis with both a url and nodes says to give exactly one', () => {
    const err = thrown(() => new EventStream({ redis: { url: 'redis://127.0.0.1:6379', nodes: ['redis://127.0.0.1:7000'] } }));
    expect(err.message).toBe(
      "redis must be a URL, a client, or an object with exactly one of url, nodes or client, got more than one: e.g. { url: 'redis://127.0.0.1:6379', commandTimeout: 2000 }",
    );
  });

  it('redis with history: false says what history may be there', () => {
    const err = thrown(() => new EventStream({ redis: 'redis://127.0.0.1:6379', history: false }));
    expect(err.message).toBe('with `redis`, history lives in that Redis, got history: false: give `history` only { maxEvents, maxAge }, or leave it out');
  });

  it('a GRIP URL without a scheme, without echoing its key', () => {
    const err = thrown(() => new EventStream({ grip: '127.0.0.1:5561/?iss=pushpin&key=secret' }));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toBe(
      "grip must be an http:// or https:// URL, got \"127.0.0.1:5561/\" (query left out): add the scheme, e.g. 'http://127.0.0.1:5561/'",
    );
    expect(err.message).not.toContain('secret');
    expect(thrown(() => new EventStream({ grip: { control_uri: 'localhost:5561' } }))).toBeInstanceOf(InvalidConfigError);
  });
});

describe('route declarations', () => {
  it("eventStream('a,b') is refused where it is declared, with the way to listen on two channels", () => {
    const es = make({});
    const err = thrown(() => es('a,b'));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).toMatch(/^eventStream\("a,b"\) can never be a valid channel \(channel name "a,b" contains .*\): for several channels give several names: eventStream\('a', 'b'\)$/);
  });

  it('a template whose literal part can never be valid is refused; a valid template is not', () => {
    const es = make({});
    expect(thrown(() => es('room;{id}'))).toBeInstanceOf(InvalidChannelError);
    expect(thrown(() => es.koa('   '))).toBeInstanceOf(InvalidChannelError);
    expect(thrown(() => es('x'.repeat(256))).message).toMatch(/longer than 255 bytes.*1 to 255 bytes/);
    expect(() => es('room-{id}')).not.toThrow();
    expect(() => es(' news ')).not.toThrow(); // trimmed, as before
  });
});

describe('data JSON cannot carry is refused at publish, naming where it is', () => {
  it.each<[string, unknown, RegExp]>([
    ['a function', () => 1, /^event data cannot be sent as JSON: data is a function;/],
    ['a symbol', Symbol('s'), /^event data cannot be sent as JSON: data is Symbol\(s\) \(a symbol\);/],
    ['a Map', new Map([['a', 1]]), /^event data cannot be sent as JSON: data is a Map, which JSON sends as \{\};.*Object\.fromEntries\(map\)/],
    ['a Set deep inside', { user: { tags: [new Set(['a'])] } }, /^event data cannot be sent as JSON: data\.user\.tags\[0\] is a Set, which JSON sends as \{\};/],
    ['a function as a value', { onClick: function onClick() {} }, /data\.onClick is a function \(onClick\);/],
    ['a BigInt', 10n, /^event data cannot be sent as JSON: Do not know how to serialize a BigInt; .*String\(big\)$/],
  ])('%s', async (_name, data, message) => {
    const es = make({});
    const err = await es.publishEvent('c', { event: 'm', data }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err!.message).toMatch(message);
    expect(es.stats().eventsPublished).toBe(0);
  });

  it('a cycle is refused too', async () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const err = await make({}).publishEvent('c', { event: 'm', data: cyclic }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err!.message).toMatch(/^event data cannot be sent as JSON: data refers to itself \(Converting circular structure to JSON/);
  });

  it('data left out, or undefined inside an object, still publishes (empty data; the key dropped)', async () => {
    const es = make({});
    await es.publishEvent('c', { event: 'cleared' });
    await es.publishEvent('c', { event: 'm', data: { a: 1, b: undefined } });
    expect(es.stats().eventsPublished).toBe(2);
  });
});

describe('bad events and channels at publish show the value', () => {
  it.each<[string, () => Promise<void>, string]>([
    ['event a number', () => make({}).publishEvent('c', { event: 5 } as never), 'SSE event must be a string, got 5: e.g. { event: \'message\' }'],
    ['event with a line break', () => make({}).publishEvent('c', { event: 'a\nb' }), 'SSE event must not contain CR, LF or NUL, got "a\\nb" (a string): a line break would end the field; put multi-line text in data'],
    ['id a number', () => make({}).publishEvent('c', { event: 'm', id: 17 } as never), 'event id must be a string (write id: String(value), or leave id out), got 17'],
    ['events not an array', () => make({}).publishEvents('c', 'oops' as never), 'events must be an array of { event, data } objects, got "oops" (a string): e.g. [{ event: \'message\', data: 1 }]'],
    ['an event that is null', () => make({}).publishEvent('c', null as never), "an event must be an object like { event, data }, got null: e.g. { event: 'message', data: { text: 'hi' } }"],
    ['an empty channel', () => make({}).publishEvent('  ', { event: 'm' }), 'channel name is empty, got "  " (a string): a channel needs at least one character besides spaces'],
  ])('%s', async (_name, publish, message) => {
    const err = await publish().then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toBe(message);
  });
});

describe('the failing address at the top level', () => {
  it('a GRIP publish to a proxy that is not there names the proxy and the refused connection; the cause is kept', async () => {
    const port = await deadPort();
    const es = make({ grip: { control_uri: `http://127.0.0.1:${port}` }, history: false });
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as GripPublishError);
    expect(err).toBeInstanceOf(GripPublishError);
    expect(err!.message).toBe(
      `GRIP proxy at http://127.0.0.1:${port}/publish/ is not reachable (connect ECONNREFUSED 127.0.0.1:${port}): check that the proxy runs and that \`grip\` names its publish endpoint (Pushpin: port 5561)`,
    );
    expect(err!.cause).toBeInstanceOf(Error);
  });

  it('a Redis that is not there names its address', async () => {
    const port = await deadPort();
    const es = make({ redis: { url: `redis://127.0.0.1:${port}`, commandTimeout: 300 } });
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as HistoryError);
    expect(err).toBeInstanceOf(HistoryError);
    expect(err!.message).toMatch(
      new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} is not reachable \\(connection [a-z ]+\\): check that Redis runs there`),
    );
  });
});

describe('getEventStreamSingleton', () => {
  it('throws when a later call brings other options, naming them', () => {
    const key = `errors-singleton-${process.pid}`;
    defer(async () => {
      await getEventStreamSingleton(null, key).close();
      (globalThis as { [k: symbol]: Map<string, unknown> })[Symbol.for('gripstream.singletons')]!.delete(key);
    });
    getEventStreamSingleton({ retry: 1000 }, key);
    const err = thrown(() => getEventStreamSingleton({ retry: 1000, grip: 'http://127.0.0.1:5561/' }, key));
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err.message).toMatch(/^getEventStreamSingleton\(options, "errors-singleton-\d+"\): the instance under this key was made with other options \(different: grip\), and these cannot apply to it: make it in one module/);
  });

  it('compares a GRIP key given as bytes by its content', () => {
    const key = `errors-singleton-key-${process.pid}`;
    defer(async () => {
      await getEventStreamSingleton(null, key).close();
      (globalThis as { [k: symbol]: Map<string, unknown> })[Symbol.for('gripstream.singletons')]!.delete(key);
    });
    const grip = (secret: string) => ({ control_uri: 'http://127.0.0.1:5561', key: Buffer.from(secret) });
    const first = getEventStreamSingleton({ grip: grip('one') }, key);
    expect(getEventStreamSingleton({ grip: grip('one') }, key)).toBe(first);
    expect(thrown(() => getEventStreamSingleton({ grip: grip('two') }, key)).message).toMatch(/\(different: grip\.key\)/);
  });
});
