import createDebug from 'debug';

const debug = createDebug('gripstream:redis:eviction');

/**
 * What a Redis `maxmemory-policy` means for gripstream's keys (see docs: "Redis eviction").
 *
 * - `safe`: Redis never removes a gripstream key to make room. With `noeviction` a full Redis
 *   refuses writes: publishes reject (a typed error), nothing is lost silently. The `volatile-*`
 *   policies remove only keys with a TTL; gripstream gives its channel keys a TTL only when
 *   `history.maxAge` is finite (the stream expires after maxAge, the meta hash after maxAge +
 *   24 h), so with `maxAge: Infinity` they are as safe as `noeviction` for gripstream's keys.
 * - `lossy`: Redis may remove a channel's keys (every `allkeys-*` policy; `volatile-*` with a
 *   finite maxAge) — and under `allkeys-*` the epoch key too. Events are then lost for good;
 *   a resume across the loss gets `history-truncated` (a missing key reads as unknown), but a
 *   client that was not connected cannot get them back.
 */
export type EvictionVerdict = 'safe' | 'lossy';

export function evictionVerdict(policy: string, maxAgeFinite: boolean): EvictionVerdict {
  if (policy === 'noeviction') return 'safe';
  if (policy.startsWith('volatile-')) return maxAgeFinite ? 'lossy' : 'safe';
  return 'lossy';
}

/**
 * Says that Redis may evict gripstream's keys under memory pressure. The one place this warning
 * leaves from: today the `gripstream:redis:eviction` debug namespace; rewire it to the incident
 * path when there is one.
 */
export function warnUnsafeEvictionPolicy(policy: string, maxAgeFinite: boolean): void {
  debug(
    'WARNING: Redis maxmemory-policy is %s: under memory pressure Redis may evict gripstream keys and their events are lost ' +
      '(resumes across the loss get history-truncated). Use noeviction%s.',
    policy,
    maxAgeFinite ? '' : ' (or a volatile-* policy: with history.maxAge Infinity gripstream keys have no TTL)',
  );
}

/** Anything that can send one command to Redis (RedisLink). */
interface CommandSender {
  command(command: string, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * Reads the server's `maxmemory-policy` once (when the engine connects) and warns when it is
 * lossy. A server that refuses CONFIG (managed Redis often renames it) is not checked: said in
 * the debug output. Resolves to the verdict, or undefined when it could not be read.
 */
export async function checkEvictionPolicy(redis: CommandSender, maxAgeFinite: boolean): Promise<EvictionVerdict | undefined> {
  let reply: unknown;
  try {
    reply = await redis.command('CONFIG', 'GET', 'maxmemory-policy');
  } catch (err) {
    debug('cannot read maxmemory-policy (%s): eviction safety not checked', err instanceof Error ? err.message : String(err));
    return undefined;
  }
  const policy = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  if (policy === undefined) return undefined;
  const verdict = evictionVerdict(policy, maxAgeFinite);
  if (verdict === 'lossy') warnUnsafeEvictionPolicy(policy, maxAgeFinite);
  else debug('maxmemory-policy %s: gripstream keys are not evicted', policy);
  return verdict;
}
