import { FROM_START, type HistoryInput, type HistoryRecord, type Replay } from '../history/HistoryStore.js';
import { DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_EVENTS } from '../config/defaults.js';
import { redisHistoryOptionsOf } from '../config/redis.js';
import type { RedisClientLike } from '../redisClient.js';
import type { StreamSink, SubscriberHooks } from '../bus/Subscriber.js';
import type { StreamPlan, StreamPlanner } from '../engine/StreamPlan.js';
import { replayByCursor, type ShardedReplay } from './cursorReplay.js';
import { CursorSubscriber } from './CursorSubscriber.js';
import { RedisKeys } from './keys.js';
import { RedisLink, type RedisConnectionOptions } from './RedisLink.js';
import { appendArgs, appendKeys, appendScript, decodeAppendReply } from './scripts/append.js';
import { decodePositionReply, positionArgs, positionKeys, POSITION_SCRIPT } from './scripts/position.js';
import { decodeReadReply, READ_MODE, readArgs, readKeys, READ_SCRIPT, type ReadChannelKeys, type ReadMode, type ReadReply } from './scripts/read.js';
import { decodeEntry, type DecodedEntry } from './scripts/streamEntry.js';
import { decodeCursor, emptyAt, emptySince, isEmptyAt, UNKNOWN_POSITION } from './streamCursor.js';
import { NEVER_AN_ID } from '../history/sentinels.js';

/** Options of {@link RedisHistory}: where Redis is, and how much history to keep there. */
export interface RedisHistoryOptions extends RedisConnectionOptions {
  /** A `redis://` URL, Cluster node URLs, or a client you configured yourself (ioredis `Redis` or `Cluster`; it is not closed by us). */
  redis: string | readonly string[] | RedisClientLike;
  /** Prefix of every key (default `'gripstream:'`); instances sharing history share it. */
  keyPrefix?: string;
  /** Events kept per channel (default 1000). */
  maxEvents?: number;
  /** Milliseconds an event is kept (default 300000); the channel's stream expires that long after its last publish. */
  maxAge?: number;
}

/** How long a channel's newest position is remembered after its last publish, beyond maxAge. */
const META_GRACE_MS = 24 * 3600_000;

/** Events one script call carries at most when it gathers concurrent calls (one call is never split). */
const MAX_GROUP_EVENTS = 2000;

interface PendingGroup {
  channel: string;
  publish: boolean;
  calls: Array<{ inputs: readonly HistoryInput[]; resolve(records: HistoryRecord[]): void; reject(err: unknown): void }>;
  events: number;
}




/** Masters' clocks may differ by this much (µs): an empty channel's cursor starts that much earlier. */
const CLOCK_SKEW_US = 1_000_000;


/** A channel's events after a position, for the engine's gap fill. */
export interface Gap {
  /** First position of the current epoch, '' when Redis holds none (wiped, nothing published since). */
  epoch: string;
  /** Newest position of the channel (0 when Redis knows none). */
  last: number;
  entries: DecodedEntry[];
  /** The clock of the channel's Redis, in µs. */
  now: number;
}

/**
 * History shared by every instance through one Redis: a stream per channel. Same contract as
 * `MemoryHistory`. One publish call is one script call (one round trip, one atomic step in
 * Redis, whatever its size), and its work in Redis is O(1) per event.
 */
export class RedisHistory implements StreamPlanner {
  /** @internal The connection (the Redis engine is handed the same one, see src/createEngine.ts). */
  readonly link: RedisLink;
  /** @internal Where the channels' keys are. */
  readonly keys: RedisKeys;
  /**
   * On a Redis Cluster: no key is shared by channels. Each channel's positions and epoch live
   * in its own meta hash (positions are then ordered per channel, not across channels), every
   * script touches one channel's slot, and a stream on several channels resumes from a cursor
   * of per-channel positions (src/redis/streamCursor.ts).
   */
  readonly sharded: boolean;
  /** The append script for this Redis: its batches go out by SPUBLISH on a Cluster. */
  private readonly appendSource: string;
  private readonly maxEvents: number;
  private readonly maxAge: number;
  private readonly metaTtl: number;
  /**
   * @internal Set by the Redis engine, whose feeds mark every channel a stream joins (see
   * `gap`): a resume then reads a channel's missing (evicted, deleted) meta hash, or one made
   * again after its position, as unknown (`history-truncated`), never as "nothing happened".
   * Without the engine a channel first published after a position cannot be told from one
   * evicted and published again, so this stays off.
   */
  detectEviction = false;
  /** Reads asked for and not yet sent, per key (see readAfter). */
  private readonly gathering = new Map<string, Promise<Replay>>();
  /** Reads sent to Redis and not yet answered, per key (see readAfter). */
  private readonly reading = new Map<string, Promise<Replay>>();
  /** Appends waiting for this tick's script call, per channel (and publish flag). */
  private readonly pending = new Map<string, PendingGroup>();

  /**
   * @param options Where Redis is, and how much history to keep there.
   * @param link @internal A connection to share (the Redis engine's); made from `options.redis` when not given.
   */
  constructor(options: RedisHistoryOptions, link?: RedisLink) {
    // Every option is checked before the link is made: a refused store leaves nothing open.
    const settings = redisHistoryOptionsOf(options);
    const prefix = settings.keyPrefix;
    this.link = link ?? new RedisLink({ redis: settings.redis, commandTimeout: settings.commandTimeout });
    this.sharded = this.link.cluster;
    this.keys = new RedisKeys(prefix);
    this.appendSource = appendScript(this.sharded ? 'SPUBLISH' : 'PUBLISH');
    this.maxEvents = settings.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
    const maxAge = settings.maxAge ?? DEFAULT_HISTORY_MAX_AGE;
    this.maxAge = Number.isFinite(maxAge) ? Math.max(1, Math.ceil(maxAge)) : 0;
    this.metaTtl = this.maxAge > 0 ? this.maxAge + META_GRACE_MS : 0;
  }

  /** True when the channel keys get a TTL (a finite maxAge): `volatile-*` eviction can remove them. */
  get keysExpire(): boolean {
    return this.maxAge > 0;
  }

  append(channel: string, inputs: readonly HistoryInput[]): Promise<HistoryRecord[]> {
    return this.appendBatch(channel, inputs, false);
  }

  /** @internal Appends the batch and, in the same script call, publishes it to the channel's subscribers (the Redis engine). */
  appendAndPublish(channel: string, inputs: readonly HistoryInput[]): Promise<HistoryRecord[]> {
    return this.appendBatch(channel, inputs, true);
  }

  /**
   * Appends the batch; with `publish`, the same script call PUBLISHes it. Calls for the same
   * channel made in the same tick travel as ONE script call (10,000 concurrent publishes are a
   * few round trips, not 10,000 scripts): each call stays whole, and the group is kept or
   * refused as one, so every call is still all or nothing.
   */
  private appendBatch(channel: string, inputs: readonly HistoryInput[], publish: boolean): Promise<HistoryRecord[]> {
    const key = publish ? `p${channel}` : `s${channel}`;
    let group = this.pending.get(key);
    if (group === undefined || group.events + inputs.length > MAX_GROUP_EVENTS) {
      const fresh: PendingGroup = { channel, publish, calls: [], events: 0 };
      this.pending.set(key, fresh);
      queueMicrotask(() => {
        if (this.pending.get(key) === fresh) this.pending.delete(key);
        void this.send(fresh);
      });
      group = fresh;
    }
    group.events += inputs.length;
    return new Promise<HistoryRecord[]>((resolve, reject) => group.calls.push({ inputs, resolve, reject }));
  }

  private async send(group: PendingGroup): Promise<void> {
    const { channel, publish, calls } = group;
    const args = appendArgs({
      pubsubChannel: publish ? this.keys.pubsubChannel(channel) : undefined,
      maxEvents: this.maxEvents,
      maxAge: this.maxAge,
      metaTtl: this.metaTtl,
      batches: calls.map((call) => call.inputs),
    });
    const { ids, oldIds } = this.keys.ids(channel);
    // Sharded: the channel's meta hash is its own epoch key (same script, one slot).
    const keys = appendKeys({ epoch: this.epochKey(channel), stream: this.keys.stream(channel), meta: this.keys.meta(channel), ids, oldIds });
    let reply: unknown[];
    try {
      reply = await this.link.write(this.appendSource, keys, args);
    } catch (err) {
      for (const call of calls) call.reject(err);
      return;
    }
    const decoded = decodeAppendReply(reply);
    let seq = decoded.firstSeq;
    let prevId = decoded.prevId;
    for (const call of calls) {
      const records = call.inputs.map((input): HistoryRecord => {
        const record: HistoryRecord = { seq, id: input.id ?? String(seq), channel, event: input.event, data: input.data };
        if (prevId !== undefined) record.prevId = prevId;
        prevId = record.id;
        seq++;
        return record;
      });
      call.resolve(records);
    }
  }

  /**
   * Reads of the same channels after the same id share one read. A reconnect storm otherwise
   * sends one script per stream (thousands, all alike) whose replies queue until some outlast
   * `commandTimeout`, and those streams resume as truncated although nothing was lost.
   *
   * Callers gather into the next read, which is sent at the end of the turn, or, while a read
   * of the same key is still out, once that one has answered: so at most one read per key is
   * in Redis at a time, however fast the storm comes. Sharing is exact: every caller joined its
   * channels' live delivery before asking, and the read it gets is sent after it asked (never
   * the one already out, which may predate its join). The replay is only read from, never changed.
   */
  readAfter(channels: readonly string[], lastEventId: string): Promise<Replay> {
    if (this.sharded) return this.readSharded(channels, lastEventId);
    const key = `${lastEventId}\n${channels.join('\n')}`;
    const gathering = this.gathering.get(key);
    if (gathering !== undefined) return gathering;
    const out = this.reading.get(key);
    const sendAfter = out === undefined ? nextTurn() : out.then(nextTurn, nextTurn);
    const read = sendAfter.then(() => {
      this.gathering.delete(key);
      const sent = this.readNow(channels, lastEventId);
      this.reading.set(key, sent);
      const done = (): void => {
        if (this.reading.get(key) === sent) this.reading.delete(key);
      };
      sent.then(done, done);
      return sent;
    });
    this.gathering.set(key, read);
    return read;
  }

  private async readNow(channels: readonly string[], lastEventId: string): Promise<Replay> {
    const reply = await this.readScript(readKeys(this.keys.epoch(), channels.map((channel) => this.readChannelKeys(channel))), channels.length, lastEventId);
    const records: HistoryRecord[] = [];
    const lastIds = new Map<string, string>();
    channels.forEach((channel, i) => {
      const { lastId, entries } = reply.channels[i]!;
      if (lastId !== '') lastIds.set(channel, lastId);
      for (let j = entries.length - 1; j >= 0; j--) records.push(decodeEntry(channel, entries[j]!).record);
    });
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    const snapshot = reply.lastHandedOut;
    return { records, complete: reply.complete, lastIds, ...(snapshot > 0 ? { snapshot } : {}) };
  }

  /**
   * On a Cluster: one script per channel (each on its channel's slot), run concurrently. A
   * stream on several channels resumes from its cursor (one position per channel); any other
   * id positions a channel only if that channel knows it, so an id from a single channel (or
   * from before an upgrade) on a multi-channel stream answers incomplete, never a guess.
   * `positions` is where each channel stood in the snapshot read: where the stream goes on.
   */
  async readSharded(channels: readonly string[], lastEventId: string): Promise<ShardedReplay> {
    const cursor = channels.length > 1 && lastEventId !== FROM_START ? decodeCursor(lastEventId, channels) : undefined;
    const replies = await Promise.all(
      channels.map((channel) => {
        const keys = readKeys(this.keys.meta(channel), [this.readChannelKeys(channel)]);
        if (cursor === undefined) return this.readScript(keys, 1, lastEventId);
        const at = cursor.get(channel)!;
        // Unknown (a read failed when the stream started): like an unknown id, truncated.
        if (at === UNKNOWN_POSITION) return this.readScript(keys, 1, NEVER_AN_ID);
        // Empty when the stream joined: all it holds now is new, unless some is gone already.
        if (isEmptyAt(at)) return this.readScript(keys, 1, String(emptySince(at)), READ_MODE.emptyAt);
        const from = at === 0 ? FROM_START : String(at);
        return this.readScript(keys, 1, from);
      }),
    );
    const records: HistoryRecord[] = [];
    const lastIds = new Map<string, string>();
    const positions = new Map<string, number>();
    const starts = new Map<string, number>();
    let complete = true;
    channels.forEach((channel, i) => {
      const reply = replies[i]!;
      if (!reply.complete) complete = false;
      const { lastId, entries, lastSeq } = reply.channels[0]!;
      if (lastId !== '') lastIds.set(channel, lastId);
      // A channel with no event at all: empty as of the snapshot (what it gets later is new).
      positions.set(channel, lastSeq ? Number(lastSeq) : emptyAt(reply.nowUs - CLOCK_SKEW_US));
      for (let j = entries.length - 1; j >= 0; j--) {
        const { record, prevSeq } = decodeEntry(channel, entries[j]!);
        if (j === entries.length - 1) starts.set(channel, prevSeq);
        records.push(record);
      }
    });
    // Across channels positions are only roughly ordered (each from its master's clock):
    // the merge is by position, and the cursor, not this order, is what resume relies on.
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds, positions, starts };
  }

  private async readScript(keys: string[], channelCount: number, lastEventId: string, mode?: ReadMode): Promise<ReadReply> {
    const args = readArgs({
      lastEventId,
      maxEvents: this.maxEvents,
      maxAge: this.maxAge,
      metaTtl: this.metaTtl,
      // FROM_START (GRIP's last-id=-): from the start of the channels, not an id to look up.
      mode: mode ?? (lastEventId === FROM_START ? READ_MODE.fromStart : READ_MODE.afterId),
      marked: this.detectEviction,
    });
    return decodeReadReply(await this.link.read(READ_SCRIPT, keys, args), channelCount);
  }

  /**
   * A fresh stream's start on a Cluster (no Last-Event-ID): every event appended after
   * `joinedAt` (local ms, when the stream joined the bus) must reach it exactly once, and its
   * cursor must know every channel's position. Live frames at or below a position are skipped
   * (they were replayed), so the positions read here must not run ahead of what the stream
   * gets: an event appended between the join and this read is in the read's `last` but may
   * reach this instance's bus only later (its feed delivers it after the read) — skipped, it
   * would be lost. So what was appended after the join is replayed from the stream instead.
   *
   * "After the join" in the channel's own master clock: the read's `now` was taken at most
   * (reply time − joinedAt) after the join, so `now` minus that (and 1 ms of rounding) is no
   * later than the master's clock at the join, and every event appended after the join has a
   * larger position (positions are at least the append time). No clock-skew allowance needed.
   * Usually nothing was appended in that window and one read per channel answers.
   */
  async freshStart(channels: readonly string[], joinedAt: number): Promise<ShardedReplay> {
    const starts = await Promise.all(channels.map((channel) => this.channelStart(channel, joinedAt)));
    const records: HistoryRecord[] = [];
    const positions = new Map<string, number>();
    const from = new Map<string, number>();
    let complete = true;
    channels.forEach((channel, i) => {
      const start = starts[i]!;
      positions.set(channel, start.position);
      if (!start.complete) complete = false;
      if (start.records.length > 0) from.set(channel, emptyAt(start.joinedAt));
      records.push(...start.records);
    });
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds: new Map(), positions, starts: from };
  }

  private async channelStart(
    channel: string,
    joinedAt: number,
  ): Promise<{ position: number; records: HistoryRecord[]; complete: boolean; joinedAt: number }> {
    const stand = await this.standing(channel);
    const at = stand.now - (Date.now() - joinedAt + 1) * 1000;
    if (stand.last <= at) return { position: stand.last > 0 ? stand.last : emptyAt(at), records: [], complete: true, joinedAt: at };
    // Appended since the join (or within the rounding before it): replayed, not skipped.
    const since = await this.gapAfter(channel, at);
    const records = since.entries.map((entry) => entry.record);
    const [first] = since.entries;
    // Trimmed before we could read it (a tiny maxEvents under a burst): say so.
    const complete = first === undefined ? since.last <= at : first.prevSeq <= at || first.prevSeq === 0;
    const newest = Math.max(since.last, records.at(-1)?.seq ?? 0);
    return { position: newest > 0 ? newest : emptyAt(at), records, complete, joinedAt: at };
  }

  /**
   * @internal A stream on several channels of a Cluster resumes by cursor (no global order):
   * its CursorSubscriber writes the cursor as each event's id, and its replay reads every
   * channel's position (src/redis/cursorReplay.ts). Other streams take the generic path.
   */
  planStream(sink: StreamSink, channels: readonly string[], hooks: SubscriberHooks): StreamPlan | undefined {
    if (!this.sharded || channels.length <= 1) return undefined;
    const subscriber = new CursorSubscriber(sink, channels, hooks);
    return {
      subscriber,
      replay: async (lastEventId, failed) => {
        const replay = await replayByCursor(this, channels, lastEventId, failed);
        subscriber.replayWith(replay);
        return { truncated: replay.truncated, events: replay.events };
      },
    };
  }

  /** The id of the newest event of each channel (GRIP reliable mode's `prev-id`). */
  async lastIds(channels: readonly string[]): Promise<Map<string, string>> {
    const ids = await Promise.all(channels.map((channel) => this.link.command('HGET', this.keys.meta(channel), 'id')));
    const map = new Map<string, string>();
    channels.forEach((channel, i) => {
      if (typeof ids[i] === 'string') map.set(channel, ids[i] as string);
    });
    return map;
  }

  /** Where a channel stands (epoch, newest position, Redis's clock), its events not read. */
  standing(channel: string): Promise<Gap> {
    return this.gap(channel, 0, false, false);
  }

  /**
   * Where a channel stands and everything its stream still holds after `afterSeq`: the
   * engine's gap fill, in one atomic read. With `firstRead` (a feed's first read), a channel
   * with no meta hash gets one born at `afterSeq` (see src/redis/scripts/position.ts): a missing
   * hash then means evicted, never "no event yet".
   */
  gapAfter(channel: string, afterSeq: number, options: { firstRead: boolean } = { firstRead: false }): Promise<Gap> {
    return this.gap(channel, afterSeq, true, options.firstRead);
  }

  private async gap(channel: string, afterSeq: number, read: boolean, start: boolean): Promise<Gap> {
    const reply = decodePositionReply(
      await this.link.read(
        POSITION_SCRIPT,
        positionKeys({ epoch: this.epochKey(channel), stream: this.keys.stream(channel), meta: this.keys.meta(channel) }),
        positionArgs({ afterSeq, readEntries: read, markWithTtl: start ? this.metaTtl : undefined }),
      ),
    );
    return { epoch: reply.epoch, last: reply.last, entries: reply.entries.map((entry) => decodeEntry(channel, entry)), now: reply.nowUs };
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  /** The key holding the epoch: one for all channels on one Redis; on a Cluster the channel's own meta hash (one slot). */
  private epochKey(channel: string): string {
    return this.sharded ? this.keys.meta(channel) : this.keys.epoch();
  }

  private readChannelKeys(channel: string): ReadChannelKeys {
    return { stream: this.keys.stream(channel), meta: this.keys.meta(channel), ...this.keys.ids(channel) };
  }
}

/** Resolves at the end of this turn of the event loop (after the I/O callbacks already due). */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
