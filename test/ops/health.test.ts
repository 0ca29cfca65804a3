import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, UnreachableError, type HealthReport } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { IncidentLog } from '../support/incidents.js';
import { freePort } from '../support/ports.js';
import { requirePushpin, startPushpin, type PushpinInstance } from '../support/pushpin.js';
import { RawClient } from '../support/raw.js';
import { requireRedis, startRedis, useRedis, type RedisInstance } from '../support/redis.js';
import { getOnce, startHttp } from '../support/server.js';
import { observeFor, withTimeout } from '../support/wait.js';

// Readiness and incidents against the real programs: a redis-server killed, frozen with
// DEBUG SLEEP and started again; a Pushpin killed and started again. Probes are hit over HTTP.

const hasRedis = requireRedis();
const hasPushpin = requirePushpin();
/** Time for a state change to be seen: one check interval (1 s) plus the bounded check. */
const NOTICE = 6000;

interface Probed {
  es: EventStream;
  log: IncidentLog;
  url: string;
  ready(): Promise<{ status: number; report: HealthReport }>;
  live(): Promise<number>;
}

async function probed(options: ConstructorParameters<typeof EventStream>[0]): Promise<Probed> {
  const log = new IncidentLog();
  const es = track(new EventStream({ ...options, logger: log, onIncident: log.hook }));
  const readyz = es.probe('ready');
  const livez = es.probe('live');
  const { url } = await startHttp((req, res) => {
    if (req.url === '/readyz') return readyz(req, res);
    if (req.url === '/livez') return livez(req, res);
    void es('ch')(req, res);
  });
  return {
    es,
    log,
    url,
    async ready() {
      const reply = await getOnce(`${url}/readyz`);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      return { status: reply.status, report: JSON.parse(reply.body) as HealthReport };
    },
    live: async () => (await getOnce(`${url}/livez`)).status,
  };
}

/** `DEBUG SLEEP` makes Redis busy (not gone): its sockets stay open and nothing is answered. */
function debugSleep(redis: RedisInstance, seconds: number): Promise<unknown> {
  const cli = spawn('redis-cli', ['-p', String(redis.port), 'DEBUG', 'SLEEP', String(seconds)], { stdio: 'ignore' });
  return once(cli, 'exit');
}

describe.runIf(hasRedis)('health and incidents with Redis', () => {
  const redis = useRedis({ debugCommand: true });
  afterEach(runCleanups);

  const engine = (url: string) => ({ url, commandTimeout: 500, keyPrefix: `health-${randomUUID()}:` });

  describe('#ready', () => {
    it('resolves once Redis answered; the readiness probe then answers 200 and liveness 200', async () => {
      const app = await probed({ redis: engine(redis.url) });
      await app.es.ready();
      const { status, report } = await app.ready();
      expect(status).toBe(200);
      expect(report).toMatchObject({ ready: true, live: true, draining: false });
      expect(report.dependencies).toEqual([expect.objectContaining({ kind: 'redis', address: `${redis.url}`, state: 'up' })]);
      expect(await app.live()).toBe(200);
      expect(app.log.lines).toEqual([]);
    });

    it('rejects with UnreachableError naming the address when nothing answers there, within its timeout', async () => {
      const port = await freePort();
      const app = await probed({ redis: engine(`redis://user:secret@127.0.0.1:${port}`) });
      const started = Date.now();
      const err = await app.es.ready({ timeout: 1500 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err).toBeInstanceOf(UnreachableError);
      const unreachable = err as UnreachableError;
      expect(unreachable.code).toBe('ERR_UNREACHABLE');
      expect(unreachable.dependency).toBe('redis');
      expect(unreachable.address).toBe(`redis://user:***@127.0.0.1:${port}`);
      expect(unreachable.message).toContain(`Redis at redis://user:***@127.0.0.1:${port} did not answer within`);
      expect(unreachable.message).not.toContain('secret');
      expect((await app.ready()).status).toBe(503);
      // Down from the start is an incident too: the server would otherwise start quietly.
      expect(app.log.lines.filter((l) => l.text.includes(`127.0.0.1:${port}`))).toEqual([
        { level: 'error', text: expect.stringMatching(/^gripstream: Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+ is unreachable/) },
      ]);
    });
  });

  it('Redis killed: readiness 503 and one line; started again: 200 and one line; liveness 200 throughout', async () => {
    const own = await startRedis();
    let current = own;
    try {
      const app = await probed({ redis: engine(own.url) });
      await app.es.ready();
      // An event, so that a resume has an id to read after.
      const client = await RawClient.get(Number(new URL(app.url).port), { path: '/ch' });
      await client.waitForEvents(1);
      await app.es.publishEvent('ch', { event: 'message', data: 1 });
      const [, published] = await client.waitForEvents(2);
      client.destroy();

      await own.kill();
      await app.log.next('redis-down', NOTICE);
      const down = await app.ready();
      expect(down.status).toBe(503);
      expect(down.report.dependencies[0]).toMatchObject({ state: 'down', error: expect.stringMatching(/^Redis at 127\.0\.0\.1:\d+ is not reachable/) });
      expect(await app.live()).toBe(200);

      // Two resumes while Redis is down: one incident line for both (one burst).
      const port = Number(new URL(app.url).port);
      const resumes = await Promise.all(
        [0, 1].map(() => RawClient.get(port, { path: '/ch', headers: { 'Last-Event-ID': published!.id! } })),
      );
      // The stream goes on live, told that its history could not be vouched for.
      await Promise.all(resumes.map((r) => r.waitFor((c) => c.events.some((e) => e.event === 'history-truncated'), 'history-truncated', NOTICE)));
      const readFailed = await app.log.next('history-read-failed', NOTICE);
      expect(readFailed.count).toBe(2);

      current = await startRedis({ port: own.port });
      await app.log.next('redis-up', NOTICE);
      expect((await app.ready()).status).toBe(200);
      await observeFor(1500);
      expect(app.log.of('redis-down')).toHaveLength(1);
      expect(app.log.of('redis-up')).toHaveLength(1);
      expect(app.log.of('history-read-failed')).toHaveLength(1);
      expect(app.log.lines.map((l) => `${l.level} ${l.text}`)).toEqual([
        expect.stringMatching(new RegExp(`^error gripstream: Redis at redis://127\\.0\\.0\\.1:${own.port} is unreachable`)),
        expect.stringMatching(/^error gripstream: 2 history reads failed in 1 s, resuming streams; they were sent history-truncated and went on live \(first: /),
        expect.stringMatching(new RegExp(`^info gripstream: Redis at redis://127\\.0\\.0\\.1:${own.port} answers again \\(after \\d+\\.\\d s\\); ready$`)),
      ]);
    } finally {
      await current.stop();
    }
  });

  it('Redis frozen (DEBUG SLEEP): readiness 503 and one line while it sleeps, 200 and one line after', async () => {
    const app = await probed({ redis: engine(redis.url) });
    await app.es.ready();
    const slept = debugSleep(redis, 4);
    const down = await app.log.next('redis-down', NOTICE);
    expect(down.message).toContain('did not answer PING within 500 ms');
    expect((await app.ready()).status).toBe(503);
    await withTimeout(slept, NOTICE, 'DEBUG SLEEP to end');
    await app.log.next('redis-up', NOTICE);
    expect((await app.ready()).status).toBe(200);
    await observeFor(1500);
    expect(app.log.lines.map((l) => l.level)).toEqual(['error', 'info']);
  });

  it('with no logger option, the incident line goes to the console (stderr), once', async () => {
    const port = await freePort();
    const script = fileURLToPath(new URL('./fixtures/default-logger.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await withTimeout(once(child, 'exit'), 20_000, 'default-logger fixture')) as [number];
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('ERR_UNREACHABLE');
    const lines = stderr.split('\n').filter((line) => line.startsWith('gripstream:'));
    expect(lines).toEqual([expect.stringContaining(`gripstream: Redis at redis://127.0.0.1:${port} is unreachable`)]);
  });
});

describe.runIf(hasPushpin)('health and incidents with a GRIP proxy', () => {
  afterEach(runCleanups);

  it('Pushpin killed: readiness 503 and one line, publishes fail with one line; started again: 200 and one line', async () => {
    const originPort = await freePort();
    let pushpin: PushpinInstance = await startPushpin({ originPort });
    try {
      const app = await probed({ grip: pushpin.controlUri, gripTimeout: 1000 });
      await app.es.ready();
      const { report } = await app.ready();
      expect(report.dependencies).toEqual([
        expect.objectContaining({ kind: 'grip', address: `http://127.0.0.1:${pushpin.publishPort}/publish/`, state: 'up' }),
      ]);

      await pushpin.kill();
      await app.log.next('grip-down', NOTICE);
      expect((await app.ready()).status).toBe(503);
      const results = await Promise.all([1, 2, 3].map((n) => app.es.publishEvent('ch', { event: 'message', data: n }).catch((e: unknown) => e)));
      for (const result of results) expect(result).toBeInstanceOf(GripPublishError);
      const failed = await app.log.next('grip-publish-failed', NOTICE);
      expect(failed.count).toBe(3);

      pushpin = await startPushpin({ originPort, httpPort: pushpin.httpPort, publishPort: pushpin.publishPort });
      await app.log.next('grip-up', NOTICE);
      expect((await app.ready()).status).toBe(200);
      await app.es.publishEvent('ch', { event: 'message', data: 4 });
      await observeFor(1500);
      const at = `http://127.0.0.1:${pushpin.publishPort}/publish/`;
      expect(app.log.lines.map((l) => `${l.level} ${l.text}`)).toEqual([
        expect.stringMatching(/^error gripstream: GRIP proxy at (\S+) is unreachable \(.*\); publishes to its clients fail until it is back/),
        expect.stringMatching(/^error gripstream: 3 GRIP publishes failed in 1 s \(first: GRIP proxy at \S+ is not reachable .*\); the publish calls rejected with GripPublishError$/),
        `info gripstream: GRIP proxy at ${at} answers again (after ${(app.log.of('grip-up')[0]!.message.match(/after (\S+) s/) ?? [])[1]} s); ready`,
      ]);
    } finally {
      await pushpin.stop();
    }
  });
});
