import { FLAG_ON, flag } from './flags.js';
import type { StreamEntry } from './streamEntry.js';

/** How the read script takes its last event id (ARGV[5]). */
export const READ_MODE = {
  /** From the start of this epoch (GRIP's `last-id=-`): complete unless something was evicted. */
  fromStart: '0',
  /** After an id: a custom id, or a position. */
  afterId: '1',
  /** (Cluster cursor) a position at which the channel had no event at all: what it holds now is new. */
  emptyAt: '2',
} as const;

export type ReadMode = (typeof READ_MODE)[keyof typeof READ_MODE];

/**
 * KEYS: epoch, then per channel: stream, meta, ids, oldIds.
 * ARGV: last event id, maxEvents, maxAge ms (0 = none), meta ttl ms (0 = none), mode (READ_MODE); then '1' when every channel a
 * stream is on was marked when the stream joined (the engine's feeds do, POSITION_SCRIPT): a
 * missing meta hash, or one made again after the position, then reads as unknown.
 * Reply: { complete 0/1, then per channel { last id or '', entries newest first, newest seq or
 * '' }, then Redis's clock in µs, then the last position handed out (the epoch's `seq`, '0'
 * for none): on one Redis, every event of these channels at or below it is in this answer or
 * at or before the asked position }.
 *
 * Exact truncation: every entry carries the channel's previous seq, so the oldest entry a
 * replay returns tells whether anything between the client's position and it was lost, even
 * though trimming is approximate. What lies beyond maxEvents or maxAge counts as evicted even
 * while Redis still holds it, so the answer does not depend on when trimming ran.
 */
export const READ_SCRIPT = `
local epochKey = KEYS[1]
local lastEventId, maxEvents, maxAge = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local metaTtl, mode, marked = tonumber(ARGV[4]), ARGV[5], ARGV[6] == '${FLAG_ON}'
local hasId = mode == '${READ_MODE.afterId}'
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function fmt(n) return string.format('%.0f', n) end
local n = (#KEYS - 1) / 4
local complete = true
local pos = nil
if mode == '${READ_MODE.emptyAt}' then
  -- Cluster cursor: the channel had no event at all at this position (its master's clock),
  -- so whatever it holds now is new; only what is gone since can be missing.
  pos = tonumber(lastEventId)
elseif not hasId then
  local first = redis.call('HGET', epochKey, 'first')
  if first then pos = tonumber(first) - 1 else pos = 0 end
else
  -- A custom id is looked up among this stream's own channels only: found in one, exact;
  -- found in several, ambiguous (truncated, replayed from the oldest match).
  local found = 0
  for c = 0, n - 1 do
    local s = redis.call('HGET', KEYS[4 + c * 4], lastEventId) or redis.call('HGET', KEYS[5 + c * 4], lastEventId)
    if s then
      found = found + 1
      if pos == nil or tonumber(s) < pos then pos = tonumber(s) end
    end
  end
  if found > 1 then complete = false end
  if found == 0 then
    local seq = redis.call('HGET', epochKey, 'seq')
    if string.match(lastEventId, '^%d+$') and #lastEventId <= 16 and seq and tonumber(lastEventId) <= tonumber(seq) then
      pos = tonumber(lastEventId)
    else
      complete = false
    end
  end
  local first = redis.call('HGET', epochKey, 'first')
  if pos ~= nil and (first == nil or pos < tonumber(first)) then complete = false end
end
local after = pos or 0
local ageMin = 0
if maxAge > 0 then ageMin = nowUs - maxAge * 1000 end
local start = math.max(after + 1, ageMin)
local out = { 0 }
for c = 0, n - 1 do
  local streamKey, metaKey = KEYS[2 + c * 4], KEYS[3 + c * 4]
  local entries = redis.call('XREVRANGE', streamKey, '+', fmt(start) .. '-0', 'COUNT', maxEvents)
  local meta = redis.call('HMGET', metaKey, 'last', 'id', 'born')
  local lastSeq, lastId, born = meta[1], meta[2] or '', meta[3]
  if not marked or mode == '${READ_MODE.fromStart}' then
    -- Without marks a channel first published after the position looks the same as one
    -- evicted and published again: nothing to tell.
  elseif not lastSeq then
    -- No hash for a channel the client has a position in: evicted (maxmemory), deleted or
    -- expired. What it held is unknown, never "nothing".
    complete = false
  elseif mode == '${READ_MODE.afterId}' and born and tonumber(born) > after then
    -- The hash was made again after the client's position: what came between is unknown.
    complete = false
  end
  if #entries > 0 then
    local oldest = entries[#entries][2]
    local prev = '0'
    for i = 1, #oldest, 2 do if oldest[i] == 'p' then prev = oldest[i + 1] end end
    if tonumber(prev) > after then complete = false end
  elseif lastSeq then
    if tonumber(lastSeq) > after then complete = false end
  elseif metaTtl > 0 and after < nowUs - metaTtl * 1000 then
    -- Nothing is known of this channel any more: it had no publish within metaTtl, so only
    -- a position older than that can have missed something.
    complete = false
  end
  out[#out + 1] = { lastId, entries, lastSeq or '' }
end
if complete then out[1] = 1 end
out[#out + 1] = fmt(nowUs)
out[#out + 1] = redis.call('HGET', epochKey, 'seq') or '0'
return out
`;

/** One channel's keys in a read. */
export interface ReadChannelKeys {
  stream: string;
  meta: string;
  ids: string;
  oldIds: string;
}

/** The epoch key (on a Cluster the channel's meta hash), then each channel's keys. */
export function readKeys(epoch: string, channels: readonly ReadChannelKeys[]): string[] {
  const keys = [epoch];
  for (const channel of channels) keys.push(channel.stream, channel.meta, channel.ids, channel.oldIds);
  return keys;
}

export interface ReadArgs {
  lastEventId: string;
  maxEvents: number;
  maxAge: number;
  metaTtl: number;
  mode: ReadMode;
  /** Every channel was marked when the stream joined (the engine's feeds): a missing meta hash is unknown. */
  marked: boolean;
}

export function readArgs(args: ReadArgs): Array<string | number> {
  return [args.lastEventId, args.maxEvents, args.maxAge, args.metaTtl, args.mode, flag(args.marked)];
}

/** One channel in the read's reply. */
export interface ReadChannelReply {
  /** Id of the channel's newest event, '' for none known. */
  lastId: string;
  /** Its events after the position, newest first. */
  entries: StreamEntry[];
  /** Its newest position, '' for none known. */
  lastSeq: string;
}

export interface ReadReply {
  complete: boolean;
  channels: ReadChannelReply[];
  /** Redis's clock, µs. */
  nowUs: number;
  /** The last position handed out (0: none). */
  lastHandedOut: number;
}

export function decodeReadReply(reply: unknown, channelCount: number): ReadReply {
  const parts = reply as unknown[];
  const channels: ReadChannelReply[] = [];
  for (let i = 1; i <= channelCount; i++) {
    const [lastId, entries, lastSeq] = parts[i] as [string, StreamEntry[], string];
    channels.push({ lastId, entries, lastSeq });
  }
  return { complete: parts[0] === 1, channels, nowUs: Number(parts[channelCount + 1]), lastHandedOut: Number(parts[channelCount + 2]) };
}

