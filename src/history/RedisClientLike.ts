/**
 * The part of a Redis client that gripstream calls, typed by shape so that the published
 * declarations never import the optional peer `ioredis`: an app without it still compiles
 * under `skipLibCheck: false`. An ioredis `Redis` or `Cluster` is assignable to it
 * (test/types/redis-client.ts checks both); anything else with these methods is too.
 *
 * Replies are `unknown` where the store parses them itself.
 */
export interface RedisClientLike {
  /** `'ready'` once commands can run; anything else means (re)connecting or closed. */
  readonly status: string;
  get(key: string): Promise<string | null>;
  hget(key: string, field: string): Promise<string | null>;
  xrevrange(key: string, end: string, start: string, countToken: 'COUNT', count: number): Promise<unknown>;
  multi(): RedisTransactionLike;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
  disconnect(): void;
}

/** A MULTI being queued: each command returns the transaction, `exec` runs them as one step. */
export interface RedisTransactionLike {
  eval(script: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): RedisTransactionLike;
  get(key: string): RedisTransactionLike;
  hget(key: string, field: string): RedisTransactionLike;
  xrange(key: string, start: string, end: string): RedisTransactionLike;
  xrevrange(key: string, end: string, start: string, countToken: 'COUNT', count: number): RedisTransactionLike;
  /** One `[error, reply]` per queued command; `null` when the transaction was aborted (WATCH). */
  exec(): Promise<Array<[error: Error | null, reply: unknown]> | null>;
}
