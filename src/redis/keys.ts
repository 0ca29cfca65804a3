/** The key prefix when none is given: RedisHistory's keys and presence's share it. */
export const DEFAULT_KEY_PREFIX = 'gripstream:';

/**
 * The names of a channel's keys and pub/sub channel in Redis, in one place for the store that
 * writes them and the engine that subscribes (what each key holds: src/redis/redisScripts.ts).
 */
export class RedisKeys {
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {}

  /** The Redis pub/sub channel a channel's batches are published on. */
  pubsubChannel(channel: string): string {
    return `${this.tagged(channel)}:p`;
  }

  /** The one hash shared by every channel on one Redis: the epoch and the last position handed out. */
  epoch(): string {
    return `${this.prefix}epoch`;
  }

  /** The channel's stream of events. */
  stream(channel: string): string {
    return `${this.tagged(channel)}:s`;
  }

  /** The channel's meta hash (newest position and id, `born`); on a Cluster also its epoch. */
  meta(channel: string): string {
    return `${this.tagged(channel)}:m`;
  }

  /** The channel's custom id → position hashes, current and previous generation. */
  ids(channel: string): { ids: string; oldIds: string } {
    const tag = this.tagged(channel);
    return { ids: `${tag}:i`, oldIds: `${tag}:j` };
  }

  /**
   * `prefix{channel}`: the start of every key of the channel, whose hash tag puts them all in
   * one Cluster slot. Redis hashes the text between the first `{` and the next `}`, and hashes
   * the whole key when that text is empty: a channel starting with `}` would scatter its keys
   * over several slots (every script CROSSSLOT). Such a channel gets a tag of its own in front,
   * a control character (never in a channel name, so no other channel's key can be the same)
   * and a hash of the name (so they do not all crowd one slot). Other keys stay as they were.
   */
  private tagged(channel: string): string {
    if (!channel.startsWith('}')) return `${this.prefix}{${channel}}`;
    return `${this.prefix}{\u0001${fnv1a(channel)}${channel}}`;
  }
}

/** FNV-1a (32 bits) of `text`, base 36. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
