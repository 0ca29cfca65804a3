/**
 * Test harness: a private `redis-server` (Debian package) on a free loopback port, with
 * persistence off and its own working directory. Stopped by PID; restartable on the same port
 * (fault tests kill it and bring it back).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './pushpin.js';

export interface RedisInstance {
  port: number;
  url: string;
  /** SIGTERM and wait for exit (bounded). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, for fault tests. */
  kill(): Promise<void>;
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

export async function startRedis(port?: number): Promise<RedisInstance> {
  const chosen = port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
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
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
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
