import type { Redis, RedisOptions } from 'ioredis';
import { HistoryError } from '../errors.js';
import { FROM_START, type HistoryInput, type HistoryRecord, type HistoryStore, type Replay } from './HistoryStore.js';
import { DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_EVENTS } from './MemoryHistory.js';

export interface RedisHistoryOptions {
  /** A `redis://` URL, or an ioredis client you configured yourself (it is not closed by us). */
  redis: string | Redis;
  /** Prefix of every key (default `'gripstream:'`); instances sharing history share it. */
  keyPrefix?: string;
  maxEvents?: number;
  maxAge?: number;
}

/**
 * Appends atomically: one global sequence for all channels and instances (seeded from the
 * Redis clock in microseconds, so a wiped Redis never hands out ids older clients still hold),
 * the channel's previous id (GRIP `prev-id`), count eviction with its high-water mark, and
 * the custom-id index. Numbers go through string.format because Lua's tostring of a
 * double above 1e14 switches to exponent notation.
 */
const APPEND_SCRIPT = `
local seqKey, streamKey, metaKey, idKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local channel, event, data, customId = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxEvents, maxAge = tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', seqKey) == 0 then
  local seed = string.format('%.0f', now * 1000)
  redis.call('SET', seqKey, seed)
  redis.call('HSET', metaKey, '*first', seed)
end
local seq = string.format('%.0f', redis.call('INCR', seqKey))
local prev = ''
local last = redis.call('XREVRANGE', streamKey, '+', '-', 'COUNT', 1)
if #last > 0 then
  local fields = last[1][2]
  for i = 1, #fields, 2 do if fields[i] == 'i' then prev = fields[i + 1] end end
end
local len = redis.call('XLEN', streamKey)
if len == 0 then
  -- The whole stream expired (PEXPIRE below): everything it had counts as evicted.
  local lastSeq = redis.call('HGET', metaKey, channel .. '|last')
  if lastSeq then redis.call('HSET', metaKey, channel .. '|evicted', lastSeq) end
else
  -- Age eviction from the front, at most 100 entries per append (amortised).
  local head = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', 100)
  for i = 1, #head do
    local fields, t = head[i][2], nil
    for j = 1, #fields, 2 do if fields[j] == 't' then t = tonumber(fields[j + 1]) end end
    if t == nil or t >= now - maxAge then break end
    redis.call('XDEL', streamKey, head[i][1])
    redis.call('HSET', metaKey, channel .. '|evicted', string.match(head[i][1], '^(%d+)'))
    len = len - 1
  end
end
if len >= maxEvents then
  local old = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', len - maxEvents + 1)
  local upTo = string.match(old[#old][1], '^(%d+)')
  redis.call('HSET', metaKey, channel .. '|evicted', upTo)
  for i = 1, #old do redis.call('XDEL', streamKey, old[i][1]) end
end
local id = seq
if customId ~= '' then
  id = customId
  redis.call('SET', idKey, seq, 'PX', maxAge)
end
redis.call('XADD', streamKey, seq .. '-0', 'i', id, 'e', event, 'd', data, 't', string.format('%.0f', now))
redis.call('HSET', metaKey, channel .. '|last', seq)
redis.call('PEXPIRE', streamKey, maxAge)
return {seq, id, prev}
`;

type StreamEntry = [id: string, fields: string[]];
/** Per channel: entries after the position, evicted mark, last seq, newest entry. */
type ChannelSnapshot = [StreamEntry[], string | null, string | null, StreamEntry[]];

/**
 * History shared by every instance through one Redis (streams, one per channel). Same
 * contract as `MemoryHistory`; what a single Redis keeps is what all instances can replay.
 */
export class RedisHistory implements HistoryStore {
  private readonly prefix: string;
  private readonly maxEvents: number;
  private readonly maxAge: number;
  private readonly ownsClient: boolean;
  private client: Promise<Redis>;

  constructor(options: RedisHistoryOptions) {
    this.prefix = options.keyPrefix ?? 'gripstream:';
    this.maxEvents = options.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
    this.maxAge = options.maxAge ?? DEFAULT_HISTORY_MAX_AGE;
    this.ownsClient = typeof options.redis === 'string';
    this.client = typeof options.redis === 'string' ? connect(options.redis) : Promise.resolve(options.redis);
    // An unused store must not crash the process with an unhandled rejection.
    this.client.catch(() => undefined);
  }

  /** One MULTI for the whole batch: one round trip, and Redis runs it as one step. */
  async append(channel: string, inputs: readonly HistoryInput[]): Promise<HistoryRecord[]> {
    const redis = await this.redis();
    const multi = redis.multi();
    for (const input of inputs) {
      multi.eval(
        APPEND_SCRIPT,
        4,
        this.key('seq'),
        this.streamKey(channel),
        this.key('meta'),
        this.key(`id:${input.id ?? ''}`),
        channel,
        input.event,
        input.data,
        input.id ?? '',
        String(this.maxEvents),
        String(this.maxAge),
      );
    }
    const replies = await this.attempt(async () => execOrThrow(await multi.exec()));
    return inputs.map((input, i) => {
      const [seq, id, prevId] = replies[i] as [string, string, string];
      const record: HistoryRecord = { seq: Number(seq), id, channel, event: input.event, data: input.data };
      if (prevId !== '') record.prevId = prevId;
      return record;
    });
  }

  async readAfter(channels: readonly string[], lastEventId: string): Promise<Replay> {
    const redis = await this.redis();
    const first = Number((await this.attempt(() => redis.hget(this.key('meta'), '*first'))) ?? Infinity);
    // FROM_START: before the first event of this store; evictions still make it incomplete.
    const position = lastEventId === FROM_START ? first : await this.positionOf(redis, lastEventId);
    const after = position ?? -Infinity;
    let complete = position !== undefined && position >= first;
    const oldestAllowed = Date.now() - this.maxAge;
    const records: HistoryRecord[] = [];
    // One transaction for all channels: a consistent snapshot, so every event up to the
    // newest one replayed is in it (the request side relies on that to skip live duplicates).
    const snapshot = await this.attempt(() => this.readChannels(redis, channels, after));
    const lastIds = new Map<string, string>();
    channels.forEach((channel, i) => {
      const [entries, evicted, last, newest] = snapshot[i]!;
      const [newestEntry] = newest;
      if (newestEntry !== undefined) lastIds.set(channel, toRecord(channel, newestEntry).record.id);
      if (Number(evicted ?? 0) > after) complete = false;
      if (entries.length === 0 && Number(last ?? 0) > after) complete = false; // expired as a whole
      for (const entry of entries) {
        const record = toRecord(channel, entry);
        if (record.time < oldestAllowed) complete = false;
        else records.push(record.record);
      }
    });
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds };
  }

  /** The id of the newest event of each channel (GRIP reliable mode's `prev-id`). */
  async lastIds(channels: readonly string[]): Promise<Map<string, string>> {
    const redis = await this.redis();
    const ids = new Map<string, string>();
    for (const channel of channels) {
      const [entry] = (await this.attempt(() => redis.xrevrange(this.streamKey(channel), '+', '-', 'COUNT', 1))) as StreamEntry[];
      if (entry !== undefined) ids.set(channel, toRecord(channel, entry).record.id);
    }
    return ids;
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    const redis = await this.client.catch(() => undefined);
    redis?.disconnect();
  }

  private async readChannels(
    redis: Redis,
    channels: readonly string[],
    after: number,
  ): Promise<Array<ChannelSnapshot>> {
    const start = Number.isFinite(after) ? `(${after}-0` : '-';
    const multi = redis.multi();
    for (const channel of channels) {
      multi.xrange(this.streamKey(channel), start, '+');
      multi.hget(this.key('meta'), `${channel}|evicted`);
      multi.hget(this.key('meta'), `${channel}|last`);
      multi.xrevrange(this.streamKey(channel), '+', '-', 'COUNT', 1);
    }
    const values = execOrThrow(await multi.exec());
    return channels.map((_, i) => values.slice(i * 4, i * 4 + 4) as ChannelSnapshot);
  }

  private async positionOf(redis: Redis, lastEventId: string): Promise<number | undefined> {
    const [custom, current] = await this.attempt(() =>
      Promise.all([redis.get(this.key(`id:${lastEventId}`)), redis.get(this.key('seq'))]),
    );
    if (custom !== null) return Number(custom);
    if (!/^\d{1,16}$/.test(lastEventId) || current === null) return undefined;
    const seq = Number(lastEventId);
    return seq <= Number(current) ? seq : undefined;
  }

  private async redis(): Promise<Redis> {
    let client: Redis;
    try {
      client = await this.client;
    } catch (err) {
      throw new HistoryError('cannot load ioredis for the Redis history store (npm install ioredis)', err);
    }
    if (client.status !== 'ready') await readyOrTimeout(client, READY_WAIT_MS);
    return client;
  }

  private async attempt<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw new HistoryError(`Redis history store failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private streamKey(channel: string): string {
    return this.key(`ch:${channel}`);
  }
}

/** The replies of a MULTI, or the first error in it. */
function execOrThrow(replies: Array<[Error | null, unknown]> | null): unknown[] {
  if (replies === null) throw new Error('redis transaction aborted');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** How long a command waits for a (re)connecting Redis before failing typed. */
const READY_WAIT_MS = 1000;

async function readyOrTimeout(client: Redis, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}

async function connect(url: string): Promise<Redis> {
  // Optional peer dependency: bundlers (Turbopack, webpack) must leave this import to Node,
  // or every app would need ioredis installed just to build.
  const { Redis } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ 'ioredis');
  const options: RedisOptions = {
    // Fail a command at once while Redis is down (a typed publish error), instead of
    // queueing it for an unknown time; reconnect in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    lazyConnect: false,
  };
  const client = new Redis(url, options);
  // Connection errors are reported through the commands that fail; keep them off 'error'.
  client.on('error', () => undefined);
  return client;
}

function toRecord(channel: string, [entryId, fields]: StreamEntry): { record: HistoryRecord; time: number } {
  const value: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!;
  const record: HistoryRecord = {
    seq: Number(entryId.slice(0, entryId.indexOf('-'))),
    id: value.i ?? '',
    channel,
    event: value.e ?? '',
    data: value.d ?? '',
  };
  return { record, time: Number(value.t ?? 0) };
}
