import createDebug from 'debug';
import type { ChannelBus } from '../bus/ChannelBus.js';
import type { RedisKeys } from './keys.js';
import type { RedisLink } from './RedisLink.js';
import type { Presence } from '../engine/Presence.js';
import { aliveArgs, aliveKeys, ALIVE_SCRIPT, decodeAliveReply } from './scripts/alive.js';
import { decodeHeartbeatReply, heartbeatArgs, heartbeatKeys, HEARTBEAT_SCRIPT } from './scripts/heartbeat.js';
import type { PresenceTimings } from '../config/presence.js';

const debug = createDebug('gripstream:presence');

/** Joins and leaves within this many ms travel to Redis as one write per channel. */
const FLUSH_MS = 100;
/** An instance silent this many TTLs is forgotten (its entry removed from the instance set). */
const FORGET_AFTER_TTLS = 20;

/**
 * Subscriber counts of every instance, kept in Redis so that reading one is one small read,
 * never a question to every instance (which waits on the slowest and breaks as instances come
 * and go). Each channel has a hash `{channel}:w` of instance id → that instance's count,
 * written when its count changes (coalesced over FLUSH_MS). A sorted set holds each
 * instance's last heartbeat in Redis's clock; a read sums only the fields of instances heard
 * from within `ttlMs`, so a killed instance stops counting at most `ttlMs` after its last beat.
 */
export class RedisPresence implements Presence {
  private readonly id = globalThis.crypto.randomUUID();
  private readonly dirty = new Set<string>();
  /** Channels whose field in Redis may hold a non-zero count of ours (withdrawn on close). */
  private readonly written = new Set<string>();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly beat: ReturnType<typeof setInterval>;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Counts are written only once Redis has our heartbeat: a reader drops fields of unknown instances. */
  private registered = false;
  /** Write every count again at the next beat too (see heartbeat). */
  private resyncNext = false;
  private closed = false;

  constructor(
    private readonly bus: ChannelBus,
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
    timings: PresenceTimings,
  ) {
    this.heartbeatMs = timings.heartbeatMs;
    this.ttlMs = timings.ttlMs;
    this.beat = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.beat.unref();
    void this.heartbeat();
  }

  async count(channels: readonly string[]): Promise<Map<string, number>> {
    const alive = decodeAliveReply(await this.link.read(ALIVE_SCRIPT, aliveKeys(this.instancesKey()), aliveArgs({ ttlMs: this.ttlMs })));
    const replies = (await Promise.all(channels.map((channel) => this.link.command('HGETALL', this.channelKey(channel))))) as string[][];
    const counts = new Map<string, number>();
    channels.forEach((channel, i) => {
      const fields = replies[i]!;
      let sum = 0;
      for (let f = 0; f < fields.length; f += 2) {
        const instance = fields[f]!;
        if (alive.has(instance)) sum += Number(fields[f + 1]);
        // A dead instance's field: dropped here, as nobody else knows it is there. Should the
        // instance come back, its heartbeat finds itself forgotten and writes every count again.
        else void this.link.command('HDEL', this.channelKey(channel), instance).catch(() => undefined);
      }
      counts.set(channel, sum);
    });
    return counts;
  }

  changed(channel: string): void {
    if (this.closed) return;
    this.dirty.add(channel);
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.beat);
    clearTimeout(this.flushTimer);
    // Leaving cleanly: counted out at once, not `ttlMs` later.
    try {
      await this.link.command('ZREM', this.instancesKey(), this.id);
      await Promise.all([...this.written].map((channel) => this.link.command('HDEL', this.channelKey(channel), this.id)));
    } catch (err) {
      debug('withdrawing presence failed (it expires in %d ms): %O', this.ttlMs, err);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const { forgotten } = decodeHeartbeatReply(
        await this.link.read(
          HEARTBEAT_SCRIPT,
          heartbeatKeys(this.instancesKey()),
          heartbeatArgs({ instance: this.id, ttlMs: this.ttlMs, forgetAfterMs: this.ttlMs * FORGET_AFTER_TTLS }),
        ),
      );
      if (this.closed) return;
      // Our entry had lapsed (first beat, or a pause past the TTL while a reader dropped our
      // fields): write every count again.
      this.registered = true;
      // A reader that saw us as dead may drop a field just after we rewrote it (its read
      // came before our beat, its HDEL after our write): resyncing at the next beat as well
      // closes that window without a cross-key script, which a Cluster would refuse.
      const resync = forgotten || this.resyncNext;
      this.resyncNext = forgotten;
      if (resync) for (const channel of Object.keys(this.bus.counts())) this.dirty.add(channel);
      // Writes that failed since, those waiting for our first beat, and any resync: now.
      if (this.dirty.size > 0 && this.flushTimer === undefined) await this.flush();
    } catch (err) {
      debug('presence heartbeat failed: %O', err);
    }
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    if (!this.registered) return;
    const channels = [...this.dirty];
    this.dirty.clear();
    await Promise.all(channels.map((channel) => this.write(channel)));
  }

  private async write(channel: string): Promise<void> {
    const count = this.bus.countOf(channel);
    try {
      if (count > 0) {
        await this.link.command('HSET', this.channelKey(channel), this.id, count);
        this.written.add(channel);
      } else {
        await this.link.command('HDEL', this.channelKey(channel), this.id);
        this.written.delete(channel);
      }
    } catch (err) {
      // Tried again at the next change or heartbeat.
      debug('presence write for %s failed: %O', channel, err);
      if (!this.closed) this.dirty.add(channel);
    }
  }

  private channelKey(channel: string): string {
    return this.keys.presence(channel);
  }

  private instancesKey(): string {
    return this.keys.instances();
  }
}
