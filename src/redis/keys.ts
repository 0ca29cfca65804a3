/** The key prefix when none is given: RedisHistory's keys and presence's share it. */
import { DEFAULT_KEY_PREFIX } from '../config/defaults.js';

/**
 * The names of a channel's keys and pub/sub channel in Redis, in one place for the store that
 * writes them and the engine that subscribes. What the scripts (src/redis/scripts/) keep there:
 *
 * Layout of the keys (P = key prefix, {c} = the channel, hash-tagged so that a channel's keys
 * share one Cluster slot):
 *   P epoch      hash  seq = last position handed out, first = first position of this epoch
 *   P{c}:s       stream of the channel's events, entry id `<seq>-0`, fields
 *                p = previous seq of the channel, i = SSE id, e = event, d = data
 *   P{c}:m       hash  last = newest seq of the channel, id = its SSE id (outlives the stream),
 *                born = a position before which this hash knows nothing of the channel: set
 *                when the hash is made (by the first publish, or by the engine when a feed
 *                starts on a channel with no hash), so a hash that Redis evicted (maxmemory)
 *                or that a DEL removed, and that a later publish made again, does not vouch
 *                for the positions before it
 *   P{c}:i/:j    hash  custom id → seq, current and previous generation (rotated, bounded)
 *
 * Positions are max(previous + 1, Redis clock in µs): they grow across channels, survive a
 * wipe (a new epoch starts above every position the old one handed out), and double as the
 * append time, so age trimming is `XTRIM MINID ~` (O(1) amortised) instead of a scan.
 * Numbers go through string.format: Lua's tostring switches to exponents above 1e14.
 *
 * On a Redis Cluster (RedisHistory.sharded) there is no global `P epoch`: each script is given
 * the channel's own meta hash `P{c}:m` in its place, so `seq`/`first` there are the channel's
 * newest position and the first position of the channel's epoch, every key a script touches
 * shares the channel's slot, and the batch goes out by SPUBLISH (routed to that slot's node
 * only, instead of copied to every node). Positions are then max(channel's previous + 1, that
 * master's clock in µs): still above every position of an earlier epoch of the channel, but
 * ordered per channel only.
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
   * Presence: each instance's subscriber count of the channel, beside the channel's other keys
   * (same hash tag, so the same Cluster slot). The bare name is the tag, as it always was (not
   * `tagged`): presence runs only one-key commands on it, so a channel starting with `}` needs
   * no tag of its own here, and the keys stay what running instances already use.
   */
  presence(channel: string): string {
    return `${this.prefix}{${channel}}:w`;
  }

  /** Presence: the instances heard from, scored by their last heartbeat. */
  instances(): string {
    return `${this.prefix}presence`;
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
