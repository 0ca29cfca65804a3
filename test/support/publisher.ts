/**
 * Publishing processes for the multi-channel suites (test/redis/fixtures/publisher.ts), and the
 * truth of what a channel's stream holds, read straight from Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.js';
import { withTimeout } from './wait.js';

const WAIT = 10_000;
const fixture = fileURLToPath(new URL('../redis/fixtures/publisher.ts', import.meta.url));

/** Starts a publishing process; stopped (and its count read) at clean-up. */
export async function startPublisher(urls: string, prefix: string, channels: readonly string[], tag: string, pauseMs = 0): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, REDIS_URL: urls, KEY_PREFIX: prefix, CHANNELS: channels.join(','), TAG: tag, PAUSE_MS: String(pauseMs) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  defer(async () => {
    if (child.exitCode !== null) return;
    if (child.connected) child.disconnect();
    await withTimeout(once(child, 'exit'), 5000, 'publisher exit').catch(() => child.kill('SIGKILL'));
  });
  await withTimeout(once(child, 'message'), WAIT, 'publisher ready');
  return child;
}

/** The entries of a Redis stream as positions (its entry ids are `<seq>-0`). */
export function xrange(redis: { cli(...args: string[]): string }, key: string): Array<{ seq: number }> {
  return redis
    .cli('--no-raw', 'XRANGE', key, '-', '+')
    .split('\n')
    .map((line) => /"(\d+)-0"/.exec(line)?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map((seq) => ({ seq: Number(seq) }));
}
