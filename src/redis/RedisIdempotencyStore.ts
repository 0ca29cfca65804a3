import { RedisLink, type RedisConnectionOptions } from './RedisLink.js';
import type { ClaimResult, IdempotencyStore } from '../types.js';
import { redisIdempotencyOptionsOf } from '../config/redis.js';

/** Options of `RedisIdempotencyStore`. */
export interface RedisIdempotencyStoreOptions extends RedisConnectionOptions {
  /** Prefix of its keys (default `'gripstream:'`, as the engine's); each id is one key `<prefix>pub:<channel>\n<id>`. */
  keyPrefix?: string;
}

const PENDING = 'pending';
const DONE = 'done';

/**
 * Publish ids remembered in Redis, so that a retry landing on another instance is still
 * recognised. Each (channel, id) is its own key with an expiry, claimed with `SET NX GET`
 * (Redis 7): one command per id, so ids of different channels may live on different Cluster
 * nodes. When one id of a request is pending elsewhere, the ids this call claimed are released
 * again and the request gets 409: two racing requests never both publish an id.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly link: RedisLink;
  private readonly prefix: string;

  constructor(options: RedisIdempotencyStoreOptions) {
    // Checked before the link is made: a refused store leaves nothing open.
    const settings = redisIdempotencyOptionsOf(options);
    this.link = new RedisLink({ redis: settings.redis, commandTimeout: settings.commandTimeout });
    this.prefix = `${settings.keyPrefix}pub:`;
  }

  /** See `IdempotencyStore.claim`. */
  async claim(keys: readonly string[], pendingMs: number): Promise<ClaimResult> {
    const previous = (await Promise.all(
      keys.map((key) => this.link.command('SET', this.prefix + key, PENDING, 'NX', 'PX', pendingMs, 'GET')),
    )) as Array<string | null>;
    const done = new Set<string>();
    const claimed: string[] = [];
    let pending = false;
    previous.forEach((value, i) => {
      if (value === null) claimed.push(keys[i]!);
      else if (value === DONE) done.add(keys[i]!);
      else pending = true;
    });
    if (pending && claimed.length > 0) await this.release(claimed);
    return { done, pending };
  }

  /** See `IdempotencyStore.commit`. */
  async commit(keys: readonly string[], windowMs: number): Promise<void> {
    await Promise.all(keys.map((key) => this.link.command('SET', this.prefix + key, DONE, 'PX', windowMs)));
  }

  /** See `IdempotencyStore.release`. */
  async release(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.link.command('DEL', this.prefix + key)));
  }

  /** Closes the connection if the store opened it (not a client you gave). */
  close(): Promise<void> {
    return this.link.close();
  }
}
