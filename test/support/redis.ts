/**
 * Test harness: a private `redis-server` (Debian package) on a free loopback port, with its
 * own working directory, persistence off unless asked for. Stopped by PID; fault tests freeze
 * it (SIGSTOP/SIGCONT), crash it (SIGKILL), bring it back on the same port with or without its
 * data, and drop its client links (CLIENT KILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';

export interface RedisInstance {
  port: number;
  /** redis-server's PID (for CPU and memory figures from /proc). */
  pid: number;
  url: string;
  /** SIGTERM and wait for exit (bounded). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, for fault tests. */
  kill(): Promise<void>;
  /** SIGSTOP: Redis hangs with its sockets open (a frozen server). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /**
   * SIGKILL, then a new redis-server on the same port: with `keepData` it reloads its append-only
   * file (only when started with `persistent`), else it starts empty.
   */
  restart(options: { keepData: boolean }): Promise<RedisInstance>;
  /** Runs one command through redis-cli; its output, trimmed. */
  cli(...args: string[]): string;
}

export interface RedisStartOptions {
  port?: number;
  /** appendonly with fsync on every write: a SIGKILL loses nothing. */
  persistent?: boolean;
  /** Working directory (to restart with the data of an earlier instance). */
  dir?: string;
  /** Allow `DEBUG` (e.g. `DEBUG SLEEP`, a Redis busy for seconds) from loopback clients. */
  debugCommand?: boolean;
}

export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** For `describe.runIf(requireRedis())`: throws under CI=true when missing, else warns loudly. */
export function requireRedis(): boolean {
  if (redisAvailable()) return true;
  const msg = 'redis-server not installed: apt-get install -y redis-server';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${msg} (the Redis tests must run in CI)`);
  console.warn(`\n!!!!! SKIPPING Redis tests: ${msg} !!!!!\n`);
  return false;
}

export async function startRedis(portOrOptions?: number | RedisStartOptions): Promise<RedisInstance> {
  const options = typeof portOrOptions === 'number' ? { port: portOrOptions } : (portOrOptions ?? {});
  const chosen = options.port ?? (await freePort());
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-redis-'));
  const persistence = options.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  const child = spawn(
    'redis-server',
    [
      '--port', String(chosen), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--protected-mode', 'yes',
      ...(options.debugCommand ? ['--enable-debug-command', 'local'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await waitForPing(chosen, child, () => log);
  const exited = once(child, 'exit');
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  };
  const instance: RedisInstance = {
    port: chosen,
    pid: child.pid!,
    url: `redis://127.0.0.1:${chosen}`,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    async restart({ keepData }) {
      child.kill('SIGCONT');
      await stopWith('SIGKILL');
      return startRedis({ port: chosen, persistent: options.persistent, dir: keepData ? dir : undefined, debugCommand: options.debugCommand });
    },
    cli: (...args) => {
      const result = spawnSync('redis-cli', ['-p', String(chosen), ...args], { encoding: 'utf8', timeout: 5000 });
      return (result.stdout ?? '').trim();
    },
  };
  return instance;
}

/**
 * A redis-server for the tests of one describe: called in the describe's body, it starts one
 * before the first test and stops it after the last. The handle stands for the running server
 * (read it in tests and hooks, not while the describe is being collected), and its `restart`
 * swaps in the new process, so a test restarts it with `await redis.restart(...)`.
 */
export function useRedis(options: RedisStartOptions = {}): RedisInstance {
  let current: RedisInstance | undefined;
  const running = (): RedisInstance => {
    if (current === undefined) throw new Error('useRedis(): the server starts in beforeAll; read it inside a test or hook');
    return current;
  };
  beforeAll(async () => {
    current = await startRedis(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  const handle: RedisInstance = {
    get port() {
      return running().port;
    },
    get pid() {
      return running().pid;
    },
    get url() {
      return running().url;
    },
    stop: () => running().stop(),
    kill: () => running().kill(),
    freeze: () => running().freeze(),
    thaw: () => running().thaw(),
    async restart(restartOptions) {
      current = await running().restart(restartOptions);
      return handle;
    },
    cli: (...args) => running().cli(...args),
  };
  return handle;
}

/**
 * The `history` option for a Redis store of one test's own: a fresh redis-server (its stop
 * handed to `defer`, the caller's clean-up) and a key prefix no other test uses, plus `extra`.
 */
export async function ownRedisHistory<T extends object>(
  defer: (step: () => Promise<void>) => unknown,
  extra?: T,
): Promise<{ redis: string; keyPrefix: string } & T> {
  const redis = await startRedis();
  defer(() => redis.stop());
  return { redis: redis.url, keyPrefix: `t-${randomUUID()}:`, ...(extra as T) };
}

async function waitForPing(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited early:\n${log()}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server not ready on ${port} after 10 s:\n${log()}`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}
