import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStream as openStream, SseResponse as SseClient } from '../support/sse-response.js';
import { WAIT_MS } from '../support/waiter.js';

// examples/nestjs on NestJS 12 (the current major), once on its Express platform and once on
// its Fastify platform, each started as its own process the way `npm run example:nestjs`
// starts it (tsx with the example's tsconfig, which turns on legacy decorators): a controller
// serves the gripstream route, a service publishes, and shutdown ends the open streams.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSCONFIG = 'examples/nestjs/tsconfig.json';
const START_MS = 30_000;

interface NestProcess {
  child: ChildProcess;
  base: string;
  output: () => string;
}

function startNest(platform: 'express' | 'fastify'): Promise<NestProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/nestjs/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PLATFORM: platform, PORT: '0', DRAIN_MS: '1000', TSX_TSCONFIG_PATH: TSCONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Nest (${platform}) did not start:\n${output}`)), START_MS);
    const onData = (): void => {
      const match = /on (http:\/\/\S+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({ child, base: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Nest (${platform}) exited with ${code}:\n${output}`));
    });
  });
}

function stop(nest: NestProcess | undefined): Promise<void> {
  const child = nest?.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  child.kill('SIGKILL');
  return exited;
}

function say(base: string, room: string, text: string): Promise<Response> {
  return fetch(`${base}/rooms/${encodeURIComponent(room)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

describe.each(['express', 'fastify'] as const)('NestJS 12 on its %s platform (examples/nestjs)', (platform) => {
  let nest: NestProcess | undefined;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    nest = await startNest(platform);
  }, START_MS + 5000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stop(nest);
  });

  it('the controller streams a room; the service publishes to it; Last-Event-ID resumes; bad rooms are a 400', async () => {
    const { base } = nest!;
    const client = await openStream(`${base}/rooms/42/events`);
    clients.push(client);
    expect(client.response.status).toBe(200);
    expect(client.response.headers.get('content-type')).toBe('text/event-stream');
    await client.next((e) => e.event === 'stream-open', 'stream-open');

    const published = await say(base, '42', 'hello');
    expect(published.status).toBe(202);
    expect(await published.json()).toEqual({ ok: true });
    const first = await client.next((e) => e.event === 'message', 'the message');
    expect(JSON.parse(first.data)).toEqual({ text: 'hello' });
    expect((await say(base, '43', 'elsewhere')).status).toBe(202);
    await say(base, '42', 'again');
    await client.next((e) => e.data.includes('again'), 'the second message');
    expect(client.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).text)).toEqual(['hello', 'again']);

    const resumed = await openStream(`${base}/rooms/42/events`, { 'last-event-id': first.id! });
    clients.push(resumed);
    const replayed = await resumed.next((e) => e.event === 'message', 'the replay');
    expect(JSON.parse(replayed.data)).toEqual({ text: 'again' });

    const bad = await fetch(`${base}/rooms/a%2Cb/events`, { headers: { accept: 'text/event-stream' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^[^\n]+\n$/);
  });

  it("behind SessionGuard: each user's stream gets their own messages, read from request.user on this platform", async () => {
    const { base } = nest!;
    const login = async (user: string): Promise<Record<string, string>> => {
      const res = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user }),
        signal: AbortSignal.timeout(WAIT_MS),
      });
      expect(res.status).toBe(204);
      return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]! };
    };
    const alice = await login('alice');
    const bob = await login('bob');
    const bobStream = await openStream(`${base}/me/events`, bob);
    const aliceStream = await openStream(`${base}/me/events`, alice);
    clients.push(bobStream, aliceStream);
    expect([bobStream.response.status, aliceStream.response.status]).toEqual([200, 200]);
    await bobStream.next((e) => e.event === 'stream-open', 'stream-open');

    const sent = await fetch(`${base}/users/bob/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...alice },
      body: JSON.stringify({ text: 'hi bob' }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    expect(sent.status).toBe(202);
    const message = await bobStream.next((e) => e.event === 'message', 'the direct message');
    expect(JSON.parse(message.data)).toEqual({ from: 'alice', text: 'hi bob' });
    await fetch(`${base}/users/alice/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bob },
      body: JSON.stringify({ text: 'hi alice' }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    await aliceStream.next((e) => e.event === 'message', 'the reply');
    // Each stream holds its own user's channel only.
    expect(aliceStream.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).text)).toEqual(['hi alice']);
    expect(bobStream.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).text)).toEqual(['hi bob']);

    const anonymous = await fetch(`${base}/me/events`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toMatch(/log in to listen/);
  });

  it('SIGTERM (enableShutdownHooks) ends the open streams and the process exits', async () => {
    const { base, child } = nest!;
    const client = await openStream(`${base}/rooms/9/events`);
    clients.push(client);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await client.whenEnded();
    const [code, signal] = (await Promise.race([
      exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error('Nest did not exit after SIGTERM')), 10_000)),
    ])) as [number | null, string | null];
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
  });
});

describe('examples/nestjs typechecks with its own tsconfig (legacy decorators)', () => {
  it('tsc -p examples/nestjs/tsconfig.json', async () => {
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(process.execPath, [tsc, '-p', TSCONFIG, '--noEmit'], { cwd: ROOT, timeout: 90_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout + stderr });
      });
    });
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 100_000);
});
