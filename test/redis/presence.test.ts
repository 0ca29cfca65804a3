import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { startHttp } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { withTimeout } from '../support/wait.js';

// Who is listening: subscriber counts per channel, in one process and across instances (in
// this process and as separate processes) through a real redis-server, including an instance
// killed with SIGKILL, whose subscribers must stop counting within the stated TTL.

const hasRedis = requireRedis();
const HEARTBEAT_MS = 200;
const TTL_MS = 1000;
const fixture = fileURLToPath(new URL('./fixtures/presence-instance.ts', import.meta.url));

afterEach(runCleanups);

/** Polls an async count until it is `expected` (presence is written within ~100 ms of a change). */
async function countBecomes(read: () => Promise<number>, expected: number, ms: number): Promise<number> {
  const started = Date.now();
  let last = -1;
  while (Date.now() - started < ms) {
    last = await read();
    if (last === expected) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`count stayed ${last}, expected ${expected} within ${ms} ms`);
}

describe('presence in one process', () => {
  it('counts the streams of each channel, and forgets one that closed', async () => {
    const es = track(new EventStream());
    const { url } = await startHttp((req, res) => void es(new URL(req.url!, 'http://x').pathname.slice(1))(req, res));
    expect(await es.presence('room-1')).toBe(0);
    const a = await connectSse(`${url}/room-1`);
    await connectSse(`${url}/room-1`);
    await connectSse(`${url}/room-2`);
    expect(await es.presence('room-1')).toBe(2);
    expect(await es.presence(['room-1', 'room-2', 'room-3'])).toEqual({ 'room-1': 2, 'room-2': 1, 'room-3': 0 });
    a.close();
    await countBecomes(() => es.presence('room-1'), 1, 5000);
  });
});

describe.runIf(hasRedis)('presence across instances (Redis engine)', () => {
  const redis = useRedis();

  const makeInstance = async (prefix: string): Promise<{ es: EventStream; url: string }> => {
    const es = track(new EventStream({ redis: { url: redis.url, keyPrefix: prefix }, presence: { heartbeatMs: HEARTBEAT_MS, ttlMs: TTL_MS } }));
    const { url } = await startHttp((req, res) => void es(new URL(req.url!, 'http://x').pathname.slice(1))(req, res));
    return { es, url };
  };

  it('sums every instance\'s subscribers, read from any instance, and drops a closed instance at once', async () => {
    const prefix = `pr-${randomUUID()}:`;
    const [one, two] = await Promise.all([makeInstance(prefix), makeInstance(prefix)]);
    await connectSse(`${one.url}/lobby`);
    await connectSse(`${two.url}/lobby`);
    const leaving = await connectSse(`${two.url}/lobby`);
    await countBecomes(() => one.es.presence('lobby'), 3, 5000);
    expect(await two.es.presence(['lobby', 'elsewhere'])).toEqual({ lobby: 3, elsewhere: 0 });
    leaving.close();
    await countBecomes(() => one.es.presence('lobby'), 2, 5000);
    // A clean close withdraws the instance's counts without waiting for the TTL.
    await two.es.close();
    const took = await countBecomes(() => one.es.presence('lobby'), 1, 5000);
    expect(took).toBeLessThan(TTL_MS);
  });

  it(`stops counting a SIGKILLed instance's subscribers within the TTL (${TTL_MS} ms after its last heartbeat)`, async () => {
    const prefix = `pk-${randomUUID()}:`;
    const reader = await makeInstance(prefix);
    await connectSse(`${reader.url}/stage`);
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, REDIS_URL: redis.url, KEY_PREFIX: prefix, HEARTBEAT_MS: String(HEARTBEAT_MS), TTL_MS: String(TTL_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const [line] = (await withTimeout(once(child.stdout!, 'data'), 15_000, 'instance listening')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    await connectSse(`http://127.0.0.1:${port}/stage`);
    await connectSse(`http://127.0.0.1:${port}/stage`);
    await countBecomes(() => reader.es.presence('stage'), 3, 5000);

    const killed = Date.now();
    child.kill('SIGKILL');
    await withTimeout(once(child, 'exit'), 5000, 'instance exit');
    // Its fields are still in Redis; only the missing heartbeats can take them out.
    expect(redis.cli('HLEN', `${prefix}{stage}:w`)).toBe('2');
    await countBecomes(() => reader.es.presence('stage'), 1, TTL_MS + 2000);
    const delay = Date.now() - killed;
    console.log(`presence: a SIGKILLed instance stopped counting ${delay} ms after the kill (TTL ${TTL_MS} ms, heartbeat ${HEARTBEAT_MS} ms)`);
    // Slack for the 25 ms poll and a loaded machine; the bound itself is the TTL after the last beat.
    expect(delay).toBeLessThanOrEqual(TTL_MS + 500);
    // The reader dropped the dead instance's field from the channel's hash.
    await countBecomes(async () => Number(redis.cli('HLEN', `${prefix}{stage}:w`)), 1, 2000);
  });

  it('needs the presence option on the Redis engine', async () => {
    const es = track(new EventStream({ redis: { url: redis.url, keyPrefix: `pn-${randomUUID()}:` } }));
    await expect(es.presence('x')).rejects.toThrow(/presence: true/);
    expect(() => new EventStream({ redis: redis.url, presence: { heartbeatMs: 1000, ttlMs: 1500 } })).toThrow(/at least twice/);
  });
});
