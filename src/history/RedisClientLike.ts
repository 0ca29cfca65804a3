/**
 * The part of a Redis client that gripstream calls, typed by shape so that the published
 * declarations never import the optional peer `ioredis`: an app without it still compiles
 * under `skipLibCheck: false`. An ioredis `Redis` is assignable to it; anything else with
 * these methods is too.
 *
 * Replies are `unknown` where the store parses them itself.
 */
export interface RedisClientLike {
  /** `'ready'` once commands can run; anything else means (re)connecting or closed. */
  readonly status: string;
  /** Any command by name: the store sends scripts (EVALSHA/EVAL) and a few reads this way. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  /** A second connection with the same options, for pub/sub (the engine subscribes on it). */
  duplicate(): RedisSubscriberLike;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
  disconnect(): void;
}

/** The connection the engine subscribes on. */
export interface RedisSubscriberLike {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  /**
   * PING on the subscribed connection (ioredis allows it in subscriber mode): its answer comes
   * in line with the messages, which tells the engine that every message Redis sent before it
   * has arrived. Without it a stream on several channels may, rarely, see an id go backwards.
   */
  ping?(): Promise<unknown>;
  on(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  disconnect(): void;
}
