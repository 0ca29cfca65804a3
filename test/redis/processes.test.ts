import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defer, runCleanups } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { connectSse } from '../support/sse.js';
import { pollUntil, withTimeout } from '../support/wait.js';

// Instances as separate processes (spawned with tsx) plus a job process that serves nothing,
// all through one real redis-server; clients through `eventsource` and a raw socket.

const hasRedis = requireRedis();
const WAIT = 15_000;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

interface Instance {
  child: ChildProcess;
  port: number;
  publish(channel: string, events: Array<{ event: string; data: unknown }>): Promise<void>;
}

describe.runIf(hasRedis)('Redis engine across processes', () => {
  const prefix = `p-${randomUUID()}:`;
  const redis = useRedis();
  afterEach(runCleanups);

  const env = () => ({ ...process.env, REDIS_URL: redis.url, KEY_PREFIX: prefix });

  async function startInstance(): Promise<Instance> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('instance')], {
      env: env(),
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    defer(async () => {
      if (child.exitCode !== null) return;
      child.disconnect();
      await withTimeout(once(child, 'exit'), 5000, 'instance exit').catch(() => child.kill('SIGKILL'));
    });
    const [line] = (await withTimeout(once(child.stdout!, 'data'), WAIT, 'instance listening')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    let next = 0;
    const publish = (channel: string, events: Array<{ event: string; data: unknown }>) =>
      new Promise<void>((resolve, reject) => {
        const id = next++;
        const onMessage = (reply: { id: number; ok?: true; error?: string }) => {
          if (reply.id !== id) return;
          child.off('message', onMessage);
          if (reply.ok) resolve();
          else reject(new Error(reply.error));
        };
        child.on('message', onMessage);
        child.send({ id, channel, events });
      });
    return { child, port, publish };
  }

  async function runJob(channel: string, count: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('job')], {
      env: { ...env(), CHANNEL: channel, COUNT: String(count) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await withTimeout(once(child, 'exit'), WAIT, 'job exit')) as [number];
    expect(code).toBe(0);
  }

  it('a job process and every instance reach every client on every instance, once each, in one order', async () => {
    const [one, two] = await Promise.all([startInstance(), startInstance()]);
    const viaEventSource = await connectSse(`http://127.0.0.1:${one.port}/orders`);
    const viaSocket = await RawClient.get(two.port, { path: '/orders' });
    await viaSocket.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{orders}:p`).endsWith('2'), WAIT, 'both instances subscribed');

    await Promise.all([
      runJob('orders', 40),
      one.publish('orders', [{ event: 'message', data: 'one-a' }, { event: 'message', data: 'one-b' }]),
      two.publish('orders', [{ event: 'message', data: 'two' }]),
    ]);
    const total = 43;
    await viaEventSource.until((events) => events.filter((e) => e.type === 'message').length >= total, `${total} events`, WAIT);
    const isMessage = (e: { event?: string }) => e.event === undefined || e.event === 'message';
    await viaSocket.waitFor((c) => c.events.filter(isMessage).length >= total, `${total} raw events`, WAIT);
    const seen = viaEventSource.of('message').map((e) => e.data);
    const raw = viaSocket.events.filter(isMessage).map((e) => e.data);
    expect(new Set(seen).size).toBe(total);
    expect(raw).toEqual(seen);
    expect(seen.filter((d) => d.startsWith('"job'))).toEqual(Array.from({ length: 40 }, (_, i) => `"job${i}"`));
    expect(seen.indexOf('"one-b"')).toBe(seen.indexOf('"one-a"') + 1);
    expect(viaSocket.events.filter(isMessage).map((e) => e.id)).toEqual(viaEventSource.of('message').map((e) => e.lastEventId));

    // The instance whose last client leaves lets go of the channel; the other keeps it.
    viaSocket.destroy();
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{orders}:p`).endsWith('1'), WAIT, 'one instance unsubscribed');
    viaEventSource.close();
    await pollUntil(() => redis.cli('PUBSUB', 'CHANNELS', `${prefix}*`) === '', WAIT, 'no subscription left');
  });
});
