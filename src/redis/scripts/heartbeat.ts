/** The heartbeat's answer when the instance had no live entry: readers may have dropped its counts. */
const FORGOTTEN = 1;
const REMEMBERED = 0;

/**
 * Presence: records an instance's beat in the instance set (a sorted set scored by Redis's
 * own TIME, so instances whose clocks disagree still agree on who is alive), and forgets the
 * instances silent for longer than forget-after. One key: it runs on a Redis Cluster too.
 * KEYS[1] instance set · ARGV[1] instance id · ARGV[2] ttl ms · ARGV[3] forget-after ms.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
if (not last) or tonumber(last) < now - tonumber(ARGV[2]) then return ${FORGOTTEN} end
return ${REMEMBERED}
`;

export function heartbeatKeys(instancesKey: string): string[] {
  return [instancesKey];
}

export interface HeartbeatArgs {
  instance: string;
  ttlMs: number;
  forgetAfterMs: number;
}

export function heartbeatArgs(args: HeartbeatArgs): Array<string | number> {
  return [args.instance, args.ttlMs, args.forgetAfterMs];
}

/** True when the instance had no live entry (first beat, or silent past the TTL): it must write every count again. */
export function decodeHeartbeatReply(reply: unknown): { forgotten: boolean } {
  return { forgotten: Number(reply) === FORGOTTEN };
}
