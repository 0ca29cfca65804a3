/**
 * Who is listening: subscribers per channel. In one process that is the bus; with the Redis
 * engine, every instance's count summed (RedisPresence). Streams a GRIP proxy holds are not
 * counted: the origin answered them once and never hears when they close.
 */
export interface Presence {
  /** Subscribers of each channel (0 for a channel nobody listens to). */
  count(channels: readonly string[]): Promise<Map<string, number>>;
  /** The bus's count of `channel` changed (a subscriber joined or left). */
  changed(channel: string): void;
  /** Stops timers; a shared presence withdraws this instance's counts. */
  close(): Promise<void>;
}
