// A public option type (the `client` a user may pass to `redis` and RedisHistory), so it sits at
// the root: config/ and types.ts read it without reaching up into redis/, which imports it from here.

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
  /** Waits for the connection to be ready again after a reconnect. */
  once(event: 'ready', listener: () => void): unknown;
  /** Stops waiting for `ready`. */
  off(event: 'ready', listener: () => void): unknown;
  /** Closes the connection (only for clients gripstream made from a URL). */
  disconnect(): void;
}

/** The connection the engine subscribes on. */
export interface RedisSubscriberLike {
  /** `'ready'` once subscribed channels receive messages. */
  readonly status: string;
  /** Subscribes to Redis pub/sub channels. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Unsubscribes from Redis pub/sub channels. */
  unsubscribe(...channels: string[]): Promise<unknown>;
  /**
   * PING on the subscribed connection (ioredis allows it in subscriber mode): its answer comes
   * in line with the messages, which tells the engine that every message Redis sent before it
   * has arrived. Without it a stream on several channels may, rarely, see an id go backwards.
   */
  ping?(): Promise<unknown>;
  /** A published message, as bytes. */
  on(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  /** The connection became ready, or closed (the engine then reads the gap). */
  on(event: 'ready' | 'close', listener: () => void): unknown;
  /** A connection error (reported through failing calls; listened to so it never crashes). */
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** Closes the connection. */
  disconnect(): void;
}
