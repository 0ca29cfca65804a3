/**
 * Presence: the ids of the instances heard from within the TTL, by Redis's own TIME.
 * KEYS[1] instance set · ARGV[1] ttl ms.
 */
export const ALIVE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;

export function aliveKeys(instancesKey: string): string[] {
  return [instancesKey];
}

export function aliveArgs(args: { ttlMs: number }): Array<string | number> {
  return [args.ttlMs];
}

export function decodeAliveReply(reply: unknown): Set<string> {
  return new Set(reply as string[]);
}
