import { Publisher } from '@fanoutio/grip';
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import {
  DEFAULT_GRIP_PREFIX,
  DEFAULT_GRIP_TIMEOUT,
  DEFAULT_KEEP_ALIVE_INTERVAL,
  DEFAULT_KEY_PREFIX,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_PRESENCE_HEARTBEAT,
  DEFAULT_PRESENCE_TTL,
} from '../../src/config/defaults.js';
import { resolveEventStreamOptions } from '../../src/config/eventStream.js';
import type { HistoryStore } from '../../src/history/HistoryStore.js';
import { configError } from './configError.js';

const SECRET = 'x'.repeat(32);
const SIGNED_GRIP = 'http://127.0.0.1:5561/?iss=pushpin&key=changeme';
/** A store of the app's: append and readAfter, no lastIds(). */
const plainStore: HistoryStore = { append: () => [], readAfter: () => ({ records: [], complete: true }) };

describe('resolveEventStreamOptions', () => {
  describe('defaults', () => {
    it('no options: every value defaulted, in process, no GRIP, metrics on, console for incidents', () => {
      const settings = resolveEventStreamOptions({});
      expect(settings).toEqual({
        keepAliveInterval: DEFAULT_KEEP_ALIVE_INTERVAL,
        maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
        retry: undefined,
        gripTimeout: DEFAULT_GRIP_TIMEOUT,
        grip: undefined,
        engine: { kind: 'local', history: undefined },
        metrics: { on: true, meterProvider: undefined },
        tokens: undefined,
        logger: console,
        onIncident: undefined,
        hooks: {},
      });
      expect([DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_GRIP_TIMEOUT]).toEqual([20_000, 1024 * 1024, 10_000]);
    });

    it('grip without gripPrefix takes the prefix @fanoutio/eventstream used', () => {
      const settings = resolveEventStreamOptions({ grip: 'http://127.0.0.1:5561/' });
      expect(settings.grip?.prefix).toBe(DEFAULT_GRIP_PREFIX);
      expect(settings.grip?.prefix).toBe('events-');
      expect(settings.grip?.reliable).toBe(false);
      expect(settings.grip?.publisher).toBeInstanceOf(Publisher);
    });

    it("an empty GRIP URL (an unset process.env.GRIP_URL) means no GRIP, as null does", () => {
      expect(resolveEventStreamOptions({ grip: '' }).grip).toBeUndefined();
      expect(resolveEventStreamOptions({ grip: null }).grip).toBeUndefined();
    });

    it('redis: the key prefix is redis.keyPrefix, else history.keyPrefix, else the default; two different ones are refused', () => {
      const url = 'redis://127.0.0.1:6379';
      const prefixOf = (options: object): unknown => {
        const engine = resolveEventStreamOptions(options).engine;
        return engine.kind === 'redis' ? engine.redis.keyPrefix : engine.kind;
      };
      expect(prefixOf({ redis: url })).toBe(DEFAULT_KEY_PREFIX);
      expect(prefixOf({ redis: url, history: { keyPrefix: 'h:' } })).toBe('h:');
      expect(prefixOf({ redis: { url, keyPrefix: 'r:' }, history: { keyPrefix: 'r:' } })).toBe('r:');
      // Which one was meant cannot be told: instances guessing differently would not share history.
      expect(() => prefixOf({ redis: { url, keyPrefix: 'r:' }, history: { keyPrefix: 'h:' } })).toThrow(
        'keyPrefix is given twice and differently, got redis.keyPrefix "r:" and history.keyPrefix "h:": both name the same Redis keys; give it once, in redis.keyPrefix',
      );
    });

    it('redis: a client, a URL and options all give the target; the history may only bound what Redis keeps', () => {
      const client = { call: () => Promise.resolve(null), once: () => undefined, duplicate: () => undefined };
      const engine = resolveEventStreamOptions({ redis: { client, commandTimeout: 500 }, history: { maxEvents: 10, maxAge: 60_000 } }).engine;
      expect(engine).toEqual({
        kind: 'redis',
        redis: { target: client, commandTimeout: 500, keyPrefix: DEFAULT_KEY_PREFIX },
        maxEvents: 10,
        maxAge: 60_000,
        presence: undefined,
      });
    });

    it('presence: true with redis takes the default timings; without redis they are not read', () => {
      const engine = resolveEventStreamOptions({ redis: 'redis://127.0.0.1:6379', presence: true }).engine;
      expect(engine.kind === 'redis' && engine.presence).toEqual({ heartbeatMs: DEFAULT_PRESENCE_HEARTBEAT, ttlMs: DEFAULT_PRESENCE_TTL });
      // In process, counting needs no timing: a value only Redis would refuse is not refused here.
      expect(resolveEventStreamOptions({ presence: { ttlMs: 1, heartbeatMs: 1 } }).engine).toEqual({ kind: 'local', history: undefined });
    });

    it('metrics: false turns the instruments off; { meterProvider } keeps them on with that provider', () => {
      expect(resolveEventStreamOptions({ metrics: false }).metrics).toEqual({ on: false, meterProvider: undefined });
      const meterProvider = { getMeter: () => { throw new Error('not used'); } };
      expect(resolveEventStreamOptions({ metrics: { meterProvider } }).metrics).toEqual({ on: true, meterProvider });
    });

    it('logger: false writes nothing; a logger given is used as it is', () => {
      expect(resolveEventStreamOptions({ logger: false }).logger).toBeUndefined();
      const logger = { error() {}, warn() {}, info() {} };
      expect(resolveEventStreamOptions({ logger }).logger).toBe(logger);
    });

    it('tokens: a verifier alone reads the default cookie and query parameter', () => {
      const verifier = new TokenVerifier({ secret: SECRET });
      expect(resolveEventStreamOptions({ tokens: verifier }).tokens).toEqual({ verifier, sources: { cookie: 'gripstream_token', query: 'access_token' } });
    });

    it('hooks are bound to the options object (a hook written as a method may use `this`)', () => {
      const options = {
        onConnect() {},
        authorize(this: { onConnect?: unknown }) {
          return typeof this.onConnect === 'function';
        },
      };
      const { authorize } = resolveEventStreamOptions(options).hooks;
      expect(authorize?.({} as never, [])).toBe(true);
    });

    it('gripReliable with a signed GRIP and the built-in history is on', () => {
      expect(resolveEventStreamOptions({ grip: SIGNED_GRIP, gripReliable: true }).grip?.reliable).toBe(true);
      expect(resolveEventStreamOptions({ grip: SIGNED_GRIP, gripReliable: true, redis: 'redis://127.0.0.1:6379' }).grip?.reliable).toBe(true);
    });
  });

  describe('checks: InvalidConfigError naming the value received and the fix', () => {
    const cases: Array<[string, object, string]> = [
      ['a typo gets the nearest name', { gripReliabe: true }, 'unknown option "gripReliabe" (did you mean "gripReliable"?)'],
      ['a hook that is not a function', { authorize: 'yes' }, 'authorize must be a function, got "yes" (a string): pass a function or leave authorize out'],
      ['gripReliable as a string', { gripReliable: 'true' }, 'gripReliable must be true or false, got "true" (a string): write gripReliable: true (a boolean, not a string)'],
      ['metrics as a number', { metrics: 1 }, 'metrics must be true, false or { meterProvider }, got 1 (leave it out for the default: on)'],
      ['gripPrefix as a number', { gripPrefix: 5 }, "gripPrefix must be a string, got 5: e.g. gripPrefix: 'events-' (the default)"],
      [
        'gripPrefix with a comma',
        { gripPrefix: 'a,b' },
        `gripPrefix must not contain ',', ';', '"' or control characters, got "a,b" (a string): they separate Grip-Channel entries; use letters, digits, '-', '_' or '.'`,
      ],
      [
        'gripPrefix with white space at an edge',
        { gripPrefix: ' ev-' },
        `gripPrefix must not start or end with white space, got " ev-" (a string): channel names are trimmed, so subscriptions and publishes would not match; e.g. gripPrefix: 'events-'`,
      ],
      ['presence as a string', { presence: 'on' }, 'presence must be true, false or { heartbeatMs, ttlMs }, got "on" (a string)'],
      ['presence with an unknown key', { presence: { ttl: 1 } }, 'unknown presence option "ttl" (did you mean "ttlMs"?)'],
      ['history as a number', { history: 5 }, 'history must be options ({ maxEvents, maxAge, ... }), a history store, or false, got 5'],
      ['history.maxEvents not whole', { history: { maxEvents: 1.5 } }, 'history.maxEvents must be a positive integer, got 1.5: e.g. 1000 (the default); for no history at all, history: false'],
      ['history.maxAge zero', { history: { maxAge: 0 } }, 'history.maxAge must be a positive number, got 0: milliseconds, e.g. 300000 (the default, 5 minutes), or Infinity; for no history at all, history: false'],
      ['history.maxBytes negative', { history: { maxBytes: -1 } }, 'history.maxBytes must be a positive integer, got -1: bytes, e.g. 8388608 (the default, 8 MiB)'],
      [
        'history bounds that contradict',
        { history: { maxBytes: 100, maxTotalBytes: 10 } },
        'history.maxTotalBytes (10) is smaller than history.maxBytes (100), so one channel could never hold maxBytes: maxBytes bounds each channel and maxTotalBytes all of them; raise maxTotalBytes or lower maxBytes',
      ],
      ['history.keyPrefix not a string', { history: { keyPrefix: 1 } }, "history.keyPrefix must be a string, got 1: e.g. 'myapp:' (the default is 'gripstream:')"],
      [
        'history.redis as an http URL',
        { history: { redis: 'http://x' } },
        `history.redis must be a redis:// or rediss:// URL, a list of them (a Cluster) or an ioredis client, got "http://x" (a string): e.g. 'redis://127.0.0.1:6379'`,
      ],
      ['redis with an unknown key', { redis: { uri: 'redis://x' } }, 'unknown redis option "uri" (did you mean "url"?)'],
      ['redis.keyPrefix not a string', { redis: { url: 'redis://x', keyPrefix: 1 } }, "redis.keyPrefix must be a string, got 1: e.g. 'myapp:'"],
      ['keepAliveInterval zero', { keepAliveInterval: 0 }, 'keepAliveInterval must be a positive, finite number, got 0: e.g. 20000 (the default), or leave it out'],
      [
        'keepAliveInterval past what a timer keeps',
        { keepAliveInterval: 2 ** 31 },
        'keepAliveInterval must be at most 2147483647 ms (about 24.8 days), got 2147483648: e.g. 20000 (the default)',
      ],
      ['maxBufferedBytes as a string', { maxBufferedBytes: '1mb' }, 'maxBufferedBytes must be a positive, finite number, got "1mb" (a string): e.g. 1048576 (the default), or leave it out'],
      ['retry negative', { retry: -1 }, 'retry must be a non-negative integer of milliseconds, got -1: e.g. retry: 3000 (a number), or leave it out'],
      ['gripTimeout past what a timer keeps', { gripTimeout: 2 ** 31 }, 'gripTimeout must be at most 2147483647 ms, got 2147483648: e.g. 10000 (the default)'],
      ['tokens of the wrong kind', { tokens: { secret: 'x' } }, 'tokens must be a TokenVerifier or { verifier: TokenVerifier, cookie?, query? }, got an object: e.g. tokens: new TokenVerifier({ secret: process.env.TOKEN_SECRET })'],
      [
        'grip without a scheme',
        { grip: '127.0.0.1:5561' },
        "grip must be an http:// or https:// URL, got \"127.0.0.1:5561\": add the scheme, e.g. 'http://127.0.0.1:5561'",
      ],
      [
        'gripReliable without grip',
        { gripReliable: true },
        'gripReliable needs `grip` and a history store with lastIds(), got no grip and a history store without lastIds(): give both, e.g. { grip: process.env.GRIP_URL, history: { redis: process.env.REDIS_URL } }',
      ],
      [
        'gripReliable without history',
        { grip: SIGNED_GRIP, gripReliable: true, history: false },
        'gripReliable needs `grip` and a history store with lastIds(), got grip and no history: give both, e.g. { grip: process.env.GRIP_URL, history: { redis: process.env.REDIS_URL } }',
      ],
      [
        "gripReliable with a store that can't say each channel's newest id",
        { grip: SIGNED_GRIP, gripReliable: true, history: plainStore },
        'gripReliable needs `grip` and a history store with lastIds(), got grip and a history store without lastIds(): give both, e.g. { grip: process.env.GRIP_URL, history: { redis: process.env.REDIS_URL } }',
      ],
      [
        'gripReliable with a proxy whose Grip-Sig cannot be checked',
        { grip: 'http://127.0.0.1:5561/', gripReliable: true },
        'gripReliable needs a key to verify Grip-Sig on every grip client (`key` with `control_iss`, or `verify_key`; in a GRIP URL `?iss=...&key=...`)',
      ],
      ['logger without its methods', { logger: { log() {} } }, 'logger is missing error(), warn(), info(): pass console, a pino or winston logger, or any object with error, warn and info methods (or false for no lines)'],
      [
        'redis options naming no target',
        { redis: { commandTimeout: 5 } },
        "redis must be a URL, a client, or an object with exactly one of url, nodes or client, got none of them: e.g. { url: 'redis://127.0.0.1:6379', commandTimeout: 2000 }",
      ],
      [
        'redis.nodes empty',
        { redis: { nodes: [] } },
        "redis.nodes must be a non-empty list of redis:// URLs, got an array of 0: e.g. ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']",
      ],
      [
        'redis with history: false',
        { redis: 'redis://x', history: false },
        'with `redis`, history lives in that Redis, got history: false: give `history` only { maxEvents, maxAge }, or leave it out',
      ],
      ['redis with presence timings that let a live instance look dead', { redis: 'redis://x', presence: { heartbeatMs: 10, ttlMs: 15 } }, 'presence.ttlMs must be at least twice heartbeatMs, got 15 and 10'],
    ];
    it.each(cases)('%s', (_name, options, message) => {
      expect(configError(() => resolveEventStreamOptions(options)).message).toBe(message);
    });

    it('the shape is checked before any value: an unknown key wins over a bad number', () => {
      expect(configError(() => resolveEventStreamOptions({ keepAliveInterval: -1, gripReliabe: true })).message).toMatch(/^unknown option "gripReliabe"/);
    });

    it('options are read once, as own keys: a getter is not read twice', () => {
      let reads = 0;
      const options = {
        get keepAliveInterval(): number {
          reads++;
          return reads === 1 ? 1000 : -1;
        },
      };
      expect(resolveEventStreamOptions(options).keepAliveInterval).toBe(1000);
      expect(reads).toBe(1);
    });
  });
});
