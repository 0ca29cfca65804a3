import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EventStream } from '../../src/EventStream.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { pollUntil } from '../support/wait.js';

// A refused construction must leave nothing open (findings 01, 09, 10): each case runs in its
// own process against a real redis-server, and the process must exit by itself, soon. Before
// the fix each of these hung (a Redis connection or a Cluster client's timers left alive).

const hasRedis = requireRedis();
const fixture = fileURLToPath(new URL('./fixtures/refused-construction.ts', import.meta.url));
/** tsx's start-up plus the refusal: a process left holding a connection never gets here. */
const EXIT_WITHIN = 8000;

interface Outcome {
  exited: boolean;
  code: number | null;
  line: { name?: string; code?: string; message?: string; accepted?: boolean } | undefined;
}

function runCase(name: string, url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, CASE: name, REDIS_URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, EXIT_WITHIN);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const text = out.trim().split('\n').pop();
      resolve({ exited: signal === null, code, line: text ? JSON.parse(text) : undefined });
    });
  });
}

describe.runIf(hasRedis)('a refused construction leaves nothing open (child processes, real redis-server)', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it.each([
    ['meterProvider-object', /^metrics\.meterProvider must be an OpenTelemetry MeterProvider \(an object with getMeter\(\)\), got an object: /],
    ['meterProvider-object-history-redis', /^metrics\.meterProvider must be an OpenTelemetry MeterProvider/],
    ['cluster-brace-prefix', /^keyPrefix must not contain \{ or \} on a Redis Cluster/],
    ['redis-history-getter', /^RedisHistory options cannot be read: config service down/],
    ['redis-history-max-events-0', /^RedisHistory\.maxEvents must be a positive integer, got 0/],
  ])('%s: InvalidConfigError, and the process exits by itself', async (name, message) => {
    const outcome = await runCase(name, redis.url);
    expect(outcome.line).toMatchObject({ name: 'InvalidConfigError', code: 'ERR_INVALID_CONFIG' });
    expect(outcome.line?.message).toMatch(message);
    expect(outcome).toMatchObject({ exited: true, code: 0 });
  }, 15_000);

  it('a throw after the Redis link was made (getMeter throws while metrics are wired): the link is closed, the process exits', async () => {
    const outcome = await runCase('getMeter-throws', redis.url);
    expect(outcome.line).toMatchObject({
      name: 'InvalidConfigError',
      code: 'ERR_INVALID_CONFIG',
      message: "metrics.meterProvider failed while gripstream's instruments were created: provider down: pass a working OpenTelemetry MeterProvider, or leave it out for the global one",
    });
    expect(outcome).toMatchObject({ exited: true, code: 0 });
  }, 15_000);

  it("with the app's own client: a throw after the link was made removes the link's 'ready' listener from it", async () => {
    const client = new Redis(redis.url);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const before = client.listenerCount('ready');
      const provider = { getMeter: (): never => { throw new Error('provider down'); } };
      expect(() => new EventStream({ redis: client, logger: false, metrics: { meterProvider: provider as never } })).toThrow(/^metrics\.meterProvider failed while gripstream's instruments were created: provider down: /);
      // The link attaches its listener once its client promise settles (a microtask): a turn of
      // the loop later it is attached, or already removed again.
      await new Promise((resolve) => setImmediate(resolve));
      await pollUntil(() => client.listenerCount('ready') === before, 5000, "the link's 'ready' listener to leave the app's client");
      expect(client.status).toBe('ready');
    } finally {
      client.disconnect();
    }
  }, 15_000);
});
