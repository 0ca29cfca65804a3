import { FROM_START, type HistoryInput, type HistoryRecord, type HistoryStore, type Replay } from './HistoryStore.js';
import { DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_EVENTS } from '../config/defaults.js';
import { redisKeyPrefixOf } from '../config/redis.js';
import type { RedisClientLike } from './RedisClientLike.js';
import { RedisLink, type RedisConnectionOptions } from './RedisLink.js';
import { APPEND_SCRIPT, GAP_SCRIPT, READ_SCRIPT, SHARDED_APPEND_SCRIPT } from './redisScripts.js';
import { decodeCursor, emptyAt, emptySince, isEmptyAt, UNKNOWN_POSITION } from './streamCursor.js';

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
  calls: Array<{ inputs: readonly HistoryInput[]; resolve(result: AppendResult): void; reject(err: unknown): void }>;
  events: number;
}

/** One stored stream entry as Redis returns it. */
export type StreamEntry = [id: string, fields: string[]];

/** What one append did, as the engine needs it to order deliveries. */
export interface AppendResult {
  records: HistoryRecord[];
  /** First position of the Redis epoch the batch went into (a wiped Redis starts a new one). */
  epoch: string;
  /** Position of the channel's event before the batch, 0 for none. */
  prevSeq: number;
}

/** A Cluster read: where each channel stood in the snapshot, and where its replayed events start. */
export interface ShardedReplay extends Replay {
  /** Newest position of each channel in the snapshot (0: none). */
  positions: Map<string, number>;
  /** Per channel with replayed events: the position before the oldest of them. */
  starts: Map<string, number>;
}

/** Masters' clocks may differ by this much (µs): an empty channel's cursor starts that much earlier. */
const CLOCK_SKEW_US = 1_000_000;

/** Looked up for a position not known: unknown to every channel, so truncated. */
const NEVER_AN_ID = '\u0000';

/** A channel's events after a position, for the engine's gap fill. */
export interface Gap {
  /** First position of the current epoch, '' when Redis holds none (wiped, nothing published since). */
  epoch: string;
  /** Newest position of the channel (0 when Redis knows none). */
  last: number;
  entries: Array<{ seq: number; prevSeq: number; record: HistoryRecord }>;
  /** The clock of the channel's Redis, in µs. */
  now: number;
}

/**
 * History shared by every instance through one Redis: a stream per channel. Same contract as
 * `MemoryHistory`. One publish call is one script call (one round trip, one atomic step in
 * Redis, whatever its size), and its work in Redis is O(1) per event.
 */
export class RedisHistory implements HistoryStore {
  /** @internal The connection, shared with the Redis engine. */
  readonly link: RedisLink;
  /**
   * On a Redis Cluster: no key is shared by channels. Each channel's positions and epoch live
   * in its own meta hash (positions are then ordered per channel, not across channels), every
   * script touches one channel's slot, and a stream on several channels resumes from a cursor
   * of per-channel positions (src/history/streamCursor.ts).
   */
  readonly sharded: boolean;
  private readonly prefix: string;
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
  /** Reads asked for in this turn of the event loop, not yet made (see readAfter). */
  private readonly gathering = new Map<string, Promise<Replay>>();
  /** Appends waiting for this tick's script call, per channel (and publish flag). */
  private readonly pending = new Map<string, PendingGroup>();

  constructor(options: RedisHistoryOptions) {
    const prefix = redisKeyPrefixOf(options);
    this.link = new RedisLink(options);
    this.sharded = this.link.cluster;
    this.prefix = prefix;
    this.maxEvents = options.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
    const maxAge = options.maxAge ?? DEFAULT_HISTORY_MAX_AGE;
    this.maxAge = Number.isFinite(maxAge) ? Math.max(1, Math.ceil(maxAge)) : 0;
    this.metaTtl = this.maxAge > 0 ? this.maxAge + META_GRACE_MS : 0;
  }

  /** True when the channel keys get a TTL (a finite maxAge): `volatile-*` eviction can remove them. */
  get keysExpire(): boolean {
    return this.maxAge > 0;
  }

  async append(channel: string, inputs: readonly HistoryInput[]): Promise<HistoryRecord[]> {
    return (await this.appendBatch(channel, inputs, false)).records;
  }

  /**
   * Appends the batch; with `publish`, the same script call PUBLISHes it. Calls for the same
   * channel made in the same tick travel as ONE script call (10,000 concurrent publishes are a
   * few round trips, not 10,000 scripts): each call stays whole, and the group is kept or
   * refused as one, so every call is still all or nothing.
   */
  appendBatch(channel: string, inputs: readonly HistoryInput[], publish: boolean): Promise<AppendResult> {
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
    return new Promise<AppendResult>((resolve, reject) => group.calls.push({ inputs, resolve, reject }));
  }

  private async send(group: PendingGroup): Promise<void> {
    const { channel, publish, calls } = group;
    const args: Array<string | number> = [
      publish ? this.pubsubChannel(channel) : '',
      this.maxEvents,
      this.maxAge,
      this.metaTtl,
    ];
    for (const call of calls) {
      for (const input of call.inputs) args.push(input.event, input.data, input.id === undefined ? '' : `=${input.id}`);
    }
    let reply: unknown[];
    try {
      reply = await this.link.write(this.sharded ? SHARDED_APPEND_SCRIPT : APPEND_SCRIPT, this.appendKeys(channel), args);
    } catch (err) {
      for (const call of calls) call.reject(err);
      return;
    }
    const [, epoch, prevSeqText, prevIdText, firstSeqText] = reply as [number, string, string, string, string];
    let seq = Number(firstSeqText);
    let prevSeq = Number(prevSeqText);
    let prevId = prevIdText === '' ? undefined : prevIdText;
    for (const call of calls) {
      const before = prevSeq;
      const records = call.inputs.map((input): HistoryRecord => {
        const record: HistoryRecord = { seq, id: input.id ?? String(seq), channel, event: input.event, data: input.data };
        if (prevId !== undefined) record.prevId = prevId;
        prevId = record.id;
        prevSeq = seq;
        seq++;
        return record;
      });
      call.resolve({ records, epoch, prevSeq: before });
    }
  }

  /**
   * Reads of the same channels after the same id, asked for in one turn of the event loop,
   * share one read made at the end of that turn. A reconnect storm otherwise sends one script
   * per stream (thousands, all alike) whose replies queue until some outlast `commandTimeout`,
   * and those streams resume as truncated although nothing was lost. Sharing is exact: every
   * caller joined its channels' live delivery before asking, so a read made later in the same
   * turn is still made after each of them joined. The replay is only read from, never changed.
   */
  readAfter(channels: readonly string[], lastEventId: string): Promise<Replay> {
    if (this.sharded) return this.readSharded(channels, lastEventId);
    const key = `${lastEventId}\n${channels.join('\n')}`;
    const gathering = this.gathering.get(key);
    if (gathering !== undefined) return gathering;
    const read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.gathering.delete(key);
      return this.readNow(channels, lastEventId);
    });
    this.gathering.set(key, read);
    return read;
  }

  private async readNow(channels: readonly string[], lastEventId: string): Promise<Replay> {
    const keys = [this.key('epoch')];
    for (const channel of channels) keys.push(...this.channelKeys(channel));
    const reply = await this.readScript(keys, lastEventId);
    const records: HistoryRecord[] = [];
    const lastIds = new Map<string, string>();
    channels.forEach((channel, i) => {
      const [lastId, entries] = reply[i + 1] as [string, StreamEntry[]];
      if (lastId !== '') lastIds.set(channel, lastId);
      for (let j = entries.length - 1; j >= 0; j--) records.push(toRecord(channel, entries[j]!).record);
    });
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    const snapshot = Number(reply[channels.length + 2]);
    return { records, complete: reply[0] === 1, lastIds, ...(snapshot > 0 ? { snapshot } : {}) };
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
        if (cursor === undefined) return this.readScript([this.metaKey(channel), ...this.channelKeys(channel)], lastEventId);
        const at = cursor.get(channel)!;
        // Unknown (a read failed when the stream started): like an unknown id, truncated.
        if (at === UNKNOWN_POSITION) return this.readScript([this.metaKey(channel), ...this.channelKeys(channel)], NEVER_AN_ID);
        // Empty when the stream joined: all it holds now is new, unless some is gone already.
        if (isEmptyAt(at)) return this.readScript([this.metaKey(channel), ...this.channelKeys(channel)], String(emptySince(at)), '2');
        const from = at === 0 ? FROM_START : String(at);
        return this.readScript([this.metaKey(channel), ...this.channelKeys(channel)], from);
      }),
    );
    const records: HistoryRecord[] = [];
    const lastIds = new Map<string, string>();
    const positions = new Map<string, number>();
    const starts = new Map<string, number>();
    let complete = true;
    channels.forEach((channel, i) => {
      const reply = replies[i]!;
      if (reply[0] !== 1) complete = false;
      const [lastId, entries, lastSeq] = reply[1] as [string, StreamEntry[], string];
      if (lastId !== '') lastIds.set(channel, lastId);
      // A channel with no event at all: empty as of the snapshot (what it gets later is new).
      positions.set(channel, lastSeq ? Number(lastSeq) : emptyAt(Number(reply[2]) - CLOCK_SKEW_US));
      for (let j = entries.length - 1; j >= 0; j--) {
        const { record, prevSeq } = toRecord(channel, entries[j]!);
        if (j === entries.length - 1) starts.set(channel, prevSeq);
        records.push(record);
      }
    });
    // Across channels positions are only roughly ordered (each from its master's clock):
    // the merge is by position, and the cursor, not this order, is what resume relies on.
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds, positions, starts };
  }

  private async readScript(keys: string[], lastEventId: string, mode?: '2'): Promise<unknown[]> {
    return (await this.link.read(READ_SCRIPT, keys, [
      lastEventId,
      this.maxEvents,
      this.maxAge,
      this.metaTtl,
      // FROM_START (GRIP's last-id=-): from the start of the channels, not an id to look up.
      mode ?? (lastEventId === FROM_START ? 0 : 1),
      this.detectEviction ? '1' : '0',
    ])) as unknown[];
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
    const stand = await this.gap(channel, 0, false);
    const at = stand.now - (Date.now() - joinedAt + 1) * 1000;
    if (stand.last <= at) return { position: stand.last > 0 ? stand.last : emptyAt(at), records: [], complete: true, joinedAt: at };
    // Appended since the join (or within the rounding before it): replayed, not skipped.
    const since = await this.gap(channel, at, true);
    const records = since.entries.map((entry) => entry.record);
    const [first] = since.entries;
    // Trimmed before we could read it (a tiny maxEvents under a burst): say so.
    const complete = first === undefined ? since.last <= at : first.prevSeq <= at || first.prevSeq === 0;
    const newest = Math.max(since.last, records.at(-1)?.seq ?? 0);
    return { position: newest > 0 ? newest : emptyAt(at), records, complete, joinedAt: at };
  }

  /** The id of the newest event of each channel (GRIP reliable mode's `prev-id`). */
  async lastIds(channels: readonly string[]): Promise<Map<string, string>> {
    const ids = await Promise.all(channels.map((channel) => this.link.command('HGET', this.metaKey(channel), 'id')));
    const map = new Map<string, string>();
    channels.forEach((channel, i) => {
      if (typeof ids[i] === 'string') map.set(channel, ids[i] as string);
    });
    return map;
  }

  /**
   * Where a channel stands (epoch, newest position) and, with `read`, everything its stream
   * still holds after `afterSeq`: the engine's gap fill, in one atomic read. With `start` (a
   * feed's first read), a channel with no meta hash gets one born at `afterSeq` (see
   * redisScripts.ts): a missing hash then means evicted, never "no event yet".
   */
  async gap(channel: string, afterSeq: number, read: boolean, start = false): Promise<Gap> {
    const [epoch, last, entries, now] = (await this.link.read(
      GAP_SCRIPT,
      [this.sharded ? this.metaKey(channel) : this.key('epoch'), this.streamKey(channel), this.metaKey(channel)],
      [formatSeq(afterSeq), read ? '1' : '0', ...(start ? [formatSeq(afterSeq), this.metaTtl] : [])],
    )) as [string, string, StreamEntry[], string];
    return { epoch, last: Number(last), entries: entries.map((entry) => toRecord(channel, entry)), now: Number(now) };
  }

  /** The Redis pub/sub channel a channel's batches are published on. */
  pubsubChannel(channel: string): string {
    return `${this.tagged(channel)}:p`;
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

  async close(): Promise<void> {
    await this.link.close();
  }

  private appendKeys(channel: string): string[] {
    // Sharded: the channel's meta hash is its own epoch key (same script, one slot).
    return [this.sharded ? this.metaKey(channel) : this.key('epoch'), ...this.channelKeys(channel)];
  }

  private channelKeys(channel: string): string[] {
    const tag = this.tagged(channel);
    return [`${tag}:s`, `${tag}:m`, `${tag}:i`, `${tag}:j`];
  }

  private streamKey(channel: string): string {
    return `${this.tagged(channel)}:s`;
  }

  private metaKey(channel: string): string {
    return `${this.tagged(channel)}:m`;
  }

  private key(name: string): string {
    return this.prefix + name;
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

function formatSeq(seq: number): string {
  return seq.toFixed(0);
}

function toRecord(channel: string, [entryId, fields]: StreamEntry): { seq: number; prevSeq: number; record: HistoryRecord } {
  let id = '';
  let event = '';
  let data = '';
  let prev = '0';
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case 'i':
        id = value;
        break;
      case 'e':
        event = value;
        break;
      case 'd':
        data = value;
        break;
      case 'p':
        prev = value;
        break;
    }
  }
  const seq = Number(entryId.slice(0, entryId.indexOf('-')));
  return { seq, prevSeq: Number(prev), record: { seq, id, channel, event, data } };
}
