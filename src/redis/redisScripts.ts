/**
 * The Lua scripts of the Redis store and engine. They live in a module of their own (not .lua
 * files) so that `tsc` alone ships them; each is loaded once per connection (EVALSHA, with
 * EVAL as the fallback when Redis answers NOSCRIPT).
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

/**
 * KEYS: epoch, stream, meta, ids, oldIds.
 * ARGV: deadline ms in Redis's clock (0 = none), pubsub channel ('' = no publish), maxEvents,
 * maxAge ms (0 = none), meta ttl ms (0 = none), then per event: event, data, id ('' = none,
 * else '=' .. id).
 * Reply: { now ms, epoch first, previous seq of the channel, previous id, first seq of batch }.
 * Published message: netstrings of first, previous seq, then per event seq, id, event, data.
 */
export const APPEND_SCRIPT = `
local epochKey, streamKey, metaKey, idsKey, oldIdsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local deadline, pub = tonumber(ARGV[1]), ARGV[2]
local maxEvents, maxAge, metaTtl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowMs = math.floor(nowUs / 1000)
if deadline > 0 and nowMs > deadline then
  -- The caller has given up on this call already: it must not take effect late.
  return redis.error_reply('GRIPSTREAM_LATE publish reached Redis after its deadline')
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
local parts = {}
local function put(s) parts[#parts + 1] = #s .. ':' .. s end
if pub ~= '' then put(first); put(prevSeq) end
local p, id = prevSeq, prevId
local seq = firstSeq - 1
local custom = 0
for i = 6, #ARGV, 3 do
  seq = seq + 1
  local s = fmt(seq)
  local given = ARGV[i + 2]
  if given == '' then id = s else id = string.sub(given, 2); redis.call('HSET', idsKey, id, s); custom = custom + 1 end
  redis.call('XADD', streamKey, s .. '-0', 'p', p, 'i', id, 'e', ARGV[i], 'd', ARGV[i + 1])
  if pub ~= '' then put(s); put(id); put(ARGV[i]); put(ARGV[i + 1]) end
  p = s
end
redis.call('HSET', epochKey, 'seq', p)
redis.call('HSET', metaKey, 'last', p, 'id', id)
-- The newest batch stays whole until the next publish, even beyond maxEvents: an instance
-- that missed its message can still read it from the stream.
redis.call('XTRIM', streamKey, 'MAXLEN', '~', math.max(maxEvents, (#ARGV - 5) / 3))
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
if pub ~= '' then redis.call('PUBLISH', pub, table.concat(parts)) end
return { nowMs, first, prevSeq, prevId, fmt(firstSeq) }
`;

/**
 * KEYS: epoch, then per channel: stream, meta, ids, oldIds.
 * ARGV: last event id, maxEvents, maxAge ms (0 = none), meta ttl ms (0 = none), mode: 1 = an
 * id, 0 = from the start of this epoch (complete unless something was evicted), 2 = (Cluster
 * cursor) a position at which the channel had no event at all; then '1' when every channel a
 * stream is on was marked when the stream joined (the engine's feeds do, GAP_SCRIPT): a
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
local metaTtl, mode, marked = tonumber(ARGV[4]), ARGV[5], ARGV[6] == '1'
local hasId = mode == '1'
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function fmt(n) return string.format('%.0f', n) end
local n = (#KEYS - 1) / 4
local complete = true
local pos = nil
if mode == '2' then
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
  if not marked or mode == '0' then
    -- Without marks a channel first published after the position looks the same as one
    -- evicted and published again: nothing to tell.
  elseif not lastSeq then
    -- No hash for a channel the client has a position in: evicted (maxmemory), deleted or
    -- expired. What it held is unknown, never "nothing".
    complete = false
  elseif mode == '1' and born and tonumber(born) > after then
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

/**
 * KEYS: epoch, stream, meta. ARGV: seq after which to read, '1' to read entries ('0' only
 * reports where the channel stands), then (a feed's start) the position its stream joined at
 * and the meta ttl ms ('' and 0 otherwise): a channel with no meta hash gets one that says it
 * knew nothing before that position (`born`), so a resume of a channel never published is
 * exact, and one whose hash is missing later reads as unknown.
 * Reply: { epoch first or '', newest seq of the channel or '', entries after the seq, oldest
 * first, the clock of the channel's Redis in µs }.
 * The engine's gap fill: what a subscriber missed between two messages or across a reconnect.
 */
export const GAP_SCRIPT = `
local entries = {}
if ARGV[3] ~= nil and ARGV[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], 'last', '0', 'born', ARGV[3])
  if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4])) end
end
if ARGV[2] == '1' then entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+') end
local t = redis.call('TIME')
local nowUs = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
return { redis.call('HGET', KEYS[1], 'first') or '', redis.call('HGET', KEYS[3], 'last') or '', entries, nowUs }
`;

/** The append script on a Redis Cluster: the same, published with SPUBLISH on the channel's slot. */
export const SHARDED_APPEND_SCRIPT = APPEND_SCRIPT.replace("redis.call('PUBLISH', pub", "redis.call('SPUBLISH', pub");
