import { FROM_START, type HistoryInput, type HistoryRecord, type HistoryStore, type Replay } from './HistoryStore.js';
import { DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_EVENTS } from './MemoryHistory.js';
import type { RedisClientLike } from './RedisClientLike.js';
import { RedisLink, type RedisConnectionOptions } from './RedisLink.js';
import { APPEND_SCRIPT, GAP_SCRIPT, READ_SCRIPT } from './redisScripts.js';

export interface RedisHistoryOptions extends RedisConnectionOptions {
  /** A `redis://` URL, or a client you configured yourself (ioredis; it is not closed by us). */
  redis: string | RedisClientLike;
  /** Prefix of every key (default `'gripstream:'`); instances sharing history share it. */
  keyPrefix?: string;
  maxEvents?: number;
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

/** A channel's events after a position, for the engine's gap fill. */
export interface Gap {
  /** First position of the current epoch, '' when Redis holds none (wiped, nothing published since). */
  epoch: string;
  /** Newest position of the channel (0 when Redis knows none). */
  last: number;
  entries: Array<{ seq: number; prevSeq: number; record: HistoryRecord }>;
}

/**
 * History shared by every instance through one Redis: a stream per channel. Same contract as
 * `MemoryHistory`. One publish call is one script call (one round trip, one atomic step in
 * Redis, whatever its size), and its work in Redis is O(1) per event.
 */
export class RedisHistory implements HistoryStore {
  readonly link: RedisLink;
  private readonly prefix: string;
  private readonly maxEvents: number;
  private readonly maxAge: number;
  private readonly metaTtl: number;
  /** Appends waiting for this tick's script call, per channel (and publish flag). */
  private readonly pending = new Map<string, PendingGroup>();

  constructor(options: RedisHistoryOptions) {
    this.link = new RedisLink(options);
    this.prefix = options.keyPrefix ?? 'gripstream:';
    this.maxEvents = options.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
    const maxAge = options.maxAge ?? DEFAULT_HISTORY_MAX_AGE;
    this.maxAge = Number.isFinite(maxAge) ? Math.max(1, Math.ceil(maxAge)) : 0;
    this.metaTtl = this.maxAge > 0 ? this.maxAge + META_GRACE_MS : 0;
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
      reply = await this.link.write(APPEND_SCRIPT, this.appendKeys(channel), args);
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

  async readAfter(channels: readonly string[], lastEventId: string): Promise<Replay> {
    const keys = [this.key('epoch')];
    for (const channel of channels) keys.push(...this.channelKeys(channel));
    const reply = (await this.link.read(READ_SCRIPT, keys, [
      lastEventId,
      this.maxEvents,
      this.maxAge,
      this.metaTtl,
      // FROM_START (GRIP's last-id=-): from the start of the channels, not an id to look up.
      lastEventId === FROM_START ? 0 : 1,
    ])) as [number, ...Array<[string, StreamEntry[]]>];
    const records: HistoryRecord[] = [];
    const lastIds = new Map<string, string>();
    channels.forEach((channel, i) => {
      const [lastId, entries] = reply[i + 1] as [string, StreamEntry[]];
      if (lastId !== '') lastIds.set(channel, lastId);
      for (let j = entries.length - 1; j >= 0; j--) records.push(toRecord(channel, entries[j]!).record);
    });
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete: reply[0] === 1, lastIds };
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
   * still holds after `afterSeq`: the engine's gap fill, in one atomic read.
   */
  async gap(channel: string, afterSeq: number, read: boolean): Promise<Gap> {
    const [epoch, last, entries] = (await this.link.read(
      GAP_SCRIPT,
      [this.key('epoch'), this.streamKey(channel), this.metaKey(channel)],
      [formatSeq(afterSeq), read ? '1' : '0'],
    )) as [string, string, StreamEntry[]];
    return { epoch, last: Number(last), entries: entries.map((entry) => toRecord(channel, entry)) };
  }

  /** The Redis pub/sub channel a channel's batches are published on. */
  pubsubChannel(channel: string): string {
    return `${this.prefix}{${channel}}:p`;
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  private appendKeys(channel: string): string[] {
    return [this.key('epoch'), ...this.channelKeys(channel)];
  }

  private channelKeys(channel: string): string[] {
    const tag = `${this.prefix}{${channel}}`;
    return [`${tag}:s`, `${tag}:m`, `${tag}:i`, `${tag}:j`];
  }

  private streamKey(channel: string): string {
    return `${this.prefix}{${channel}}:s`;
  }

  private metaKey(channel: string): string {
    return `${this.prefix}{${channel}}:m`;
  }

  private key(name: string): string {
    return this.prefix + name;
  }
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
