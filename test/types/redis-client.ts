/**
 * Compile-time: the structural client type of the public options accepts what users pass.
 * Checked by `tsc -p tsconfig.json` (part of `npm test`); nothing here runs.
 */
import type { Cluster, Redis } from 'ioredis';
import type { HistoryOptions, RedisClientLike, RedisHistoryOptions } from '../../src/index.js';

declare const redis: Redis;
declare const cluster: Cluster;

export const single: RedisClientLike = redis;
export const clustered: RedisClientLike = cluster;
export const options: RedisHistoryOptions = { redis };
export const history: HistoryOptions = { redis: cluster, maxEvents: 10 };
export const url: HistoryOptions = { redis: 'redis://127.0.0.1:6379' };

// @ts-expect-error a client without the commands gripstream calls is refused
export const notAClient: RedisClientLike = { status: 'ready' };
