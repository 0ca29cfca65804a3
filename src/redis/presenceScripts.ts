/**
 * Presence scripts. Each touches one key (the instance set), so they run on a Redis Cluster
 * too; the time is Redis's own (TIME), so instances whose clocks disagree still agree on who
 * is alive.
 */

/**
 * KEYS[1] instance set · ARGV[1] instance id · ARGV[2] ttl ms · ARGV[3] forget-after ms.
 * Records the beat; answers 1 when the instance had no live entry (first beat, or silent past
 * the TTL, when readers may have dropped its counts), 0 otherwise.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
if (not last) or tonumber(last) < now - tonumber(ARGV[2]) then return 1 end
return 0
`;

/** KEYS[1] instance set · ARGV[1] ttl ms. The ids of instances heard from within the TTL. */
export const ALIVE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;
