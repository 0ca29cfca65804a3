import { redactSecrets } from '../redact.js';
import type { Publisher } from '@fanoutio/grip';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { RedisClientLike } from '../redisClient.js';
import { RedisHistory } from '../redis/RedisHistory.js';
import type { RedisLink } from '../redis/RedisLink.js';
import type { DependencyCheck } from './health.js';

/** Bound on one GRIP proxy check, in ms (the publish timeout, if shorter). */
const GRIP_CHECK_TIMEOUT = 2000;

/** The dependencies an EventStream serves through: the Redis of its engine or history, its GRIP proxies. */
export function dependencyChecks(
  history: HistoryStore | undefined,
  publisher: Publisher | undefined,
  gripTimeout: number,
): DependencyCheck[] {
  const checks: DependencyCheck[] = [];
  if (history instanceof RedisHistory) checks.push(redisCheck(history.link));
  if (publisher !== undefined) checks.push(...gripChecks(publisher, Math.min(gripTimeout, GRIP_CHECK_TIMEOUT)));
  return checks;
}

/**
 * Redis answered a PING through the same link publishes use, bounded by `commandTimeout`:
 * a Redis that is down, frozen (`DEBUG SLEEP`, SIGSTOP) or not loaded (no ioredis) fails it.
 */
function redisCheck(link: RedisLink): DependencyCheck {
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

/**
 * A proxy answered: any HTTP status to a GET of its publish endpoint counts (Pushpin says 405,
 * a hosted service may say 401); only no answer within the bound is down. Nothing is published.
 */
function gripChecks(publisher: Publisher, timeoutMs: number): DependencyCheck[] {
  const checks: DependencyCheck[] = [];
  for (const client of publisher.clients) {
    const uri = (client as { publishUri?: unknown }).publishUri;
    // A custom client (no URI) cannot be asked without publishing: it is not checked.
    if (typeof uri !== 'string') continue;
    checks.push({
      kind: 'grip',
      address: withoutCredentials(uri),
      onDemand: true,
      async check() {
        const res = await fetch(uri, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
          throw isTimeout(err) ? new Error(`no answer within ${timeoutMs} ms`) : err;
        });
        await res.body?.cancel();
      },
    });
  }
  return checks;
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`; a list or a client described. */
export function redisAddress(target: string | readonly string[] | RedisClientLike): string {
  if (typeof target === 'string') return withoutCredentials(target);
  if (Array.isArray(target)) return (target as readonly string[]).map(withoutCredentials).join(', ');
  const options = (target as { options?: { host?: unknown; port?: unknown } }).options;
  if (typeof options?.host === 'string') return `${options.host}:${String(options.port ?? 6379)} (your client)`;
  return 'the Redis client you passed';
}

function withoutCredentials(url: string): string {
  return redactSecrets(url);
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
