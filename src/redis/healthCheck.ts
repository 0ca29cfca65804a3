import { redactSecrets } from '../redact.js';
import type { DependencyCheck } from '../telemetry/DependencyCheck.js';
import type { RedisLink } from './RedisLink.js';

/**
 * Redis answered a PING through the same link publishes use, bounded by `commandTimeout`:
 * a Redis that is down, frozen (`DEBUG SLEEP`, SIGSTOP) or not loaded (no ioredis) fails it.
 */
export function redisHealthCheck(link: RedisLink): DependencyCheck {
  return {
    kind: 'redis',
    address: redisAddress(link.target),
    onDemand: false,
    async check() {
      const reply = await link.command('PING');
      if (String(reply) !== 'PONG') throw new Error(`PING answered ${String(reply)}`);
    },
  };
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`; a list or a client described. */
export function redisAddress(target: RedisLink['target']): string {
  if (typeof target === 'string') return redactSecrets(target);
  if (Array.isArray(target)) return (target as readonly string[]).map((url) => redactSecrets(url)).join(', ');
  const options = (target as { options?: { host?: unknown; port?: unknown } }).options;
  if (typeof options?.host === 'string') return `${options.host}:${String(options.port ?? 6379)} (your client)`;
  return 'the Redis client you passed';
}
