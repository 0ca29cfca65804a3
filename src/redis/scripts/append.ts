import type { HistoryInput } from '../../history/HistoryStore.js';
import { MESSAGE_LUA } from '../message.js';
import { LATE_ERROR } from './deadline.js';

/** How the batch goes out: PUBLISH on one Redis, SPUBLISH (to the channel's slot only) on a Cluster. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/** ARGV index (Lua, from 1) of the first event: after the deadline and the four options. */
const FIRST_EVENT_ARG = 6;
/** ARGV entries per event: event, data, id. */
const ARGS_PER_EVENT = 3;
/** An event without a publisher id ('' in its id argument): the store makes it from the position. */
const NO_ID = '';
/** Put before a publisher's id, so that an empty id is told from none. */
const ID_MARK = '=';

/*
 * The scripts live in TypeScript modules (not .lua files) so that `tsc` alone ships them, in
 * the ESM and the CommonJS build; RedisLink loads each once per connection (EVALSHA, EVAL when
 * Redis answers NOSCRIPT). One module per script: its Lua, its KEYS/ARGV, its reply decoder.
 */

/**
 * The append script: appends one batch (one or more publish calls) to the channel's stream,
 * in one atomic step, and with a pub/sub channel publishes it (src/redis/message.ts) with
 * `publish`. Key layout: src/redis/keys.ts.
 *
 * KEYS: see AppendKeys. ARGV: the deadline (ms of Redis's clock, 0 = none, added by
 * RedisLink.write), then appendArgs. Refuses past the deadline with LATE_ERROR.
 */
export function appendScript(publish: PublishCommand): string {
  return `
local epochKey, streamKey, metaKey, idsKey, oldIdsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local deadline, pub = tonumber(ARGV[1]), ARGV[2]
local maxEvents, maxAge, metaTtl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowMs = math.floor(nowUs / 1000)
if deadline > 0 and nowMs > deadline then
  -- The caller has given up on this call already: it must not take effect late.
  return redis.error_reply('${LATE_ERROR} publish reached Redis after its deadline')
end
local function fmt(n) return string.format('%.0f', n) end
local epoch = redis.call('HMGET', epochKey, 'seq', 'first')
local last, first = tonumber(epoch[1] or '0'), epoch[2]
if not first then
  first = fmt(math.max(last + 1, nowUs))
  redis.call('HSET', epochKey, 'first', first)
end
local meta = redis.call('HMGET', metaKey, 'last', 'id')
local prevSeq, prevId = meta[1] or '0', meta[2] or ''
local firstSeq = math.max(last + 1, nowUs)
-- No hash: a new channel, or one whose keys were evicted. Either way it knows nothing before this batch.
if not meta[1] then redis.call('HSET', metaKey, 'born', fmt(firstSeq)) end
${MESSAGE_LUA.writer}if pub ~= '' then ${MESSAGE_LUA.head} end
local p, id = prevSeq, prevId
local seq = firstSeq - 1
local custom = 0
for i = ${FIRST_EVENT_ARG}, #ARGV, ${ARGS_PER_EVENT} do
  seq = seq + 1
  local s = fmt(seq)
  local given = ARGV[i + 2]
  if given == '${NO_ID}' then id = s else id = string.sub(given, ${ID_MARK.length + 1}); redis.call('HSET', idsKey, id, s); custom = custom + 1 end
  redis.call('XADD', streamKey, s .. '-0', 'p', p, 'i', id, 'e', ARGV[i], 'd', ARGV[i + 1])
  if pub ~= '' then ${MESSAGE_LUA.item} end
  p = s
end
redis.call('HSET', epochKey, 'seq', p)
redis.call('HSET', metaKey, 'last', p, 'id', id)
-- The newest batch stays whole until the next publish, even beyond maxEvents: an instance
-- that missed its message can still read it from the stream.
redis.call('XTRIM', streamKey, 'MAXLEN', '~', math.max(maxEvents, (#ARGV - ${FIRST_EVENT_ARG - 1}) / ${ARGS_PER_EVENT}))
if maxAge > 0 then
  redis.call('XTRIM', streamKey, 'MINID', '~', fmt(nowUs - maxAge * 1000))
  redis.call('PEXPIRE', streamKey, maxAge)
end
if metaTtl > 0 then redis.call('PEXPIRE', metaKey, metaTtl) end
if custom > 0 then
  -- Two generations keep at least the newest maxEvents custom ids (what the stream can
  -- still replay) in bounded space: a rotation frees the older half, O(1) amortised.
  if redis.call('HLEN', idsKey) > maxEvents + 128 then redis.call('RENAME', idsKey, oldIdsKey) end
  if metaTtl > 0 then
    redis.call('PEXPIRE', idsKey, metaTtl)
    redis.call('PEXPIRE', oldIdsKey, metaTtl)
  end
end
if pub ~= '' then redis.call('${publish}', pub, ${MESSAGE_LUA.text}) end
return { nowMs, first, prevSeq, prevId, fmt(firstSeq) }
`;
}

/** The append script on one Redis. */
export const APPEND_SCRIPT = appendScript('PUBLISH');
/** The append script on a Redis Cluster: the same, published with SPUBLISH on the channel's slot. */
export const SHARDED_APPEND_SCRIPT = appendScript('SPUBLISH');

/** The keys one append touches; on a Cluster `epoch` is the channel's meta hash (same slot). */
export interface AppendKeys {
  epoch: string;
  stream: string;
  meta: string;
  ids: string;
  oldIds: string;
}

/** What one append is told besides its keys. */
export interface AppendArgs {
  /** The pub/sub channel to publish the batch on; undefined: keep it only. */
  pubsubChannel: string | undefined;
  maxEvents: number;
  /** ms, 0 = none. */
  maxAge: number;
  /** ms the channel's meta hash outlives its last publish, 0 = none. */
  metaTtl: number;
  /** The events, in order: the batches of the publish calls gathered into this one, one after the other. */
  batches: ReadonlyArray<readonly HistoryInput[]>;
}

export function appendKeys(keys: AppendKeys): string[] {
  return [keys.epoch, keys.stream, keys.meta, keys.ids, keys.oldIds];
}

/** ARGV after the deadline (which RedisLink.write puts first). */
export function appendArgs(args: AppendArgs): Array<string | number> {
  const argv: Array<string | number> = [args.pubsubChannel ?? '', args.maxEvents, args.maxAge, args.metaTtl];
  for (const batch of args.batches) {
    for (const input of batch) argv.push(input.event, input.data, input.id === undefined ? NO_ID : `${ID_MARK}${input.id}`);
  }
  return argv;
}

/** The append script's reply. */
export interface AppendReply {
  /** Redis's clock when it ran, ms (RedisLink feeds its clock estimate with it). */
  nowMs: number;
  /** Id of the channel's event before the batch, undefined for none known. */
  prevId: string | undefined;
  /** Position of the batch's first event; the others follow one by one. */
  firstSeq: number;
}

/** Reads the reply `{ now ms, epoch first, previous seq, previous id, first seq of the batch }`. */
export function decodeAppendReply(reply: unknown): AppendReply {
  const [nowMs, , , prevId, firstSeq] = reply as [number, string, string, string, string];
  return { nowMs: Number(nowMs), prevId: prevId === '' ? undefined : prevId, firstSeq: Number(firstSeq) };
}
