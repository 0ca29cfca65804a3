import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStream as openStream, SseResponse as SseClient } from '../support/sse-response.js';
import { WAIT_MS } from '../support/waiter.js';

// Bun and Deno, from the npm packages `bun` and `deno` (devDependencies: their binaries come
// from the registry as platform packages). Each runs test/runtimes/smoke-server.ts straight
// from the TypeScript sources, once with its own fetch server (Bun.serve / Deno.serve +
// eventStream.fetch) and once with node:http + the route handler; Node's fetch and raw
// sockets are the clients: stream, publish, Last-Event-ID resume, slow-client drop.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bun and Deno come from their own small package beside this test (`npm ci --prefix test/runtimes`), not from gripstream's devDependencies. */
const RUNTIMES_MODULES = `${ROOT}test/runtimes/node_modules/`;
const START_MS = 20_000;

interface Runtime {
  name: 'bun' | 'deno';
  binary: string;
  args: (mode: Mode) => string[];
}
type Mode = 'fetch' | 'node';

/**
 * The binary itself: where the package's postinstall puts it, else still in its platform
 * package (when install scripts did not run; the package's own bin is then a placeholder).
 */
function binary(candidates: string[]): string {
  const found = candidates.map((path) => `${RUNTIMES_MODULES}${path}`).find((path) => existsSync(path) && statSync(path).size > 1e6);
  return found ?? `${RUNTIMES_MODULES}${candidates[0]}`;
}

const RUNTIMES: Runtime[] = [
  {
    name: 'bun',
    binary: binary(['bun/bin/bun.exe', `@oven/bun-${process.platform}-${process.arch}/bin/bun`]),
    args: (mode) => ['test/runtimes/smoke-server.ts', mode],
  },
  {
    name: 'deno',
    binary: binary(['deno/deno', `@deno/${process.platform}-${process.arch}-glibc/deno`]),
    // --sloppy-imports: the sources import './x.js' meaning './x.ts', as tsc and Bun resolve it.
    args: (mode) => ['run', '--allow-net', '--allow-env', '--allow-read', '--sloppy-imports', 'test/runtimes/smoke-server.ts', mode],
  },
];

function available(runtime: Runtime): boolean {
  if (existsSync(runtime.binary)) return true;
  if (process.env.CI === 'true') return true; // and fail in beforeAll
  const line = '!'.repeat(78);
  console.warn(`\n${line}\n!! SKIPPING ${runtime.name} smoke tests: no ${runtime.binary} (npm ci --prefix test/runtimes)\n${line}\n`);
  return false;
}

interface Server {
  child: ChildProcess;
  base: string;
  output: () => string;
}

function start(runtime: Runtime, mode: Mode, entry?: string): Promise<Server> {
  if (!existsSync(runtime.binary)) throw new Error(`${runtime.name} is required (CI=true): ${runtime.binary} missing; npm ci --prefix test/runtimes`);
  const child = spawn(runtime.binary, runtime.args(mode), {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...(entry === undefined ? {} : { GRIPSTREAM_ENTRY: entry }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime.name} (${mode}) did not start:\n${output}`)), START_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /READY (\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, base: `http://127.0.0.1:${match[1]}`, output: () => output });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime.name} (${mode}) exited with ${code}:\n${output}`));
    });
  });
}

async function stop(server: Server | undefined): Promise<void> {
  const child = server?.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function post(base: string, path: string, body = ''): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(WAIT_MS * 3) });
}

interface Stats {
  connections: number;
  clientsDropped: number;
}

async function stats(base: string): Promise<Stats> {
  return (await (await fetch(`${base}/stats`, { signal: AbortSignal.timeout(WAIT_MS) })).json()) as Stats;
}

/** Polls the server's stats (another process: nothing to await but its answers). */
async function statsUntil(base: string, test: (s: Stats) => boolean, what: string): Promise<Stats> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const current = await stats(base);
    if (test(current)) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function streamAndResume({ base }: Server, clients: SseClient[]): Promise<void> {
  const client = await openStream(`${base}/events?channel=news`);
  clients.push(client);
  expect(client.response.status).toBe(200);
  expect(client.response.headers.get('content-type')).toBe('text/event-stream');
  await client.next((e) => e.event === 'stream-open', 'stream-open');
  expect((await post(base, '/publish?channel=news', 'one')).status).toBe(202);
  expect((await post(base, '/publish?channel=other', 'elsewhere')).status).toBe(202);
  expect((await post(base, '/publish?channel=news', 'two')).status).toBe(202);
  const two = await client.next((e) => e.data === '"two"', 'the second event');
  const messages = client.events.filter((e) => e.event === 'message');
  expect(messages.map((e) => e.data)).toEqual(['"one"', '"two"']);

  const resumed = await openStream(`${base}/events?channel=news`, { 'last-event-id': messages[0]!.id! });
  clients.push(resumed);
  const replayed = await resumed.next((e) => e.event === 'message', 'the replay');
  expect(replayed.data).toBe('"two"');
  expect(replayed.id).toBe(two.id);

  const refused = await fetch(`${base}/events?channel=`, { headers: { accept: 'text/event-stream' } });
  expect(refused.status).toBe(400);
  expect(await refused.text()).toMatch(/^[^\n]+\n$/);
}

const CASES = RUNTIMES.flatMap((runtime) => (['fetch', 'node'] as const).map((mode) => ({ runtime, mode })));

describe.each(CASES.filter(({ runtime }) => available(runtime)))('$runtime.name, $mode server', ({ runtime, mode }) => {
  let server: Server | undefined;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    server = await start(runtime, mode);
  }, START_MS + 5000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stop(server);
  });

  it('streams a published event, and resumes from Last-Event-ID', () => streamAndResume(server!, clients));

  it('drops a client that stops reading, and keeps serving the others', async () => {
    const { base } = server!;
    const fast = await openStream(`${base}/events?channel=flood`);
    clients.push(fast);
    await fast.next((e) => e.event === 'stream-open', 'stream-open');
    const before = await stats(base);
    const slow = net.connect({ host: '127.0.0.1', port: Number(new URL(base).port) });
    slow.on('error', () => {});
    // Reset or closed: either way it is gone (`once` would reject on the reset's 'error').
    const slowClosed = new Promise((resolve) => slow.once('close', resolve));
    slow.pause();
    slow.write('GET /events?channel=flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    await statsUntil(base, (s) => s.connections === before.connections + 1, 'the slow client to connect');

    const flood = (await (await post(base, '/flood?channel=flood&n=5000&size=16000')).json()) as { published: number; dropped: number };
    expect(flood.dropped).toBe(1);
    await statsUntil(base, (s) => s.connections === before.connections, 'the slow client to be gone');
    // The fast client got every event up to the drop.
    await fast.next((_e) => fast.events.filter((m) => m.event === 'message').length === flood.published, 'every flood event');
    slow.resume();
    await slowClosed;
    console.log(`${runtime.name}/${mode}: slow client dropped after ${flood.published} events of 16 kB (bound 64 KiB)`);
  });
});

describe('a built copy (tsc -p tsconfig.build.json) under each runtime', () => {
  const outDir = `${ROOT}.tmp-runtimes/dist`;
  const usable = RUNTIMES.filter((runtime) => existsSync(runtime.binary) || process.env.CI === 'true');

  beforeAll(async () => {
    const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir, '--sourceMap', 'false', '--declaration', 'false'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`the build failed (${code})`);
  }, 120_000);

  afterAll(() => rm(`${ROOT}.tmp-runtimes`, { recursive: true, force: true }));

  it.each(usable)('$name serves, publishes and resumes from dist/index.js', async (runtime) => {
    const server = await start(runtime, 'fetch', `${outDir}/index.js`);
    const clients: SseClient[] = [];
    try {
      expect(server.output()).toContain(`READY ${new URL(server.base).port} ${outDir}/index.js`);
      await streamAndResume(server, clients);
    } finally {
      for (const client of clients) client.close();
      await stop(server);
    }
  });
});
