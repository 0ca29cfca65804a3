import { FLAG_ON, flag } from './flags.js';
import { formatSeq, type StreamEntry } from './streamEntry.js';

/**
 * KEYS: epoch, stream, meta. ARGV: seq after which to read, '1' to read entries ('0' only
 * reports where the channel stands), then (a feed's start) the position its stream joined at
 * and the meta ttl ms ('' and 0 otherwise): a channel with no meta hash gets one that says it
 * knew nothing before that position (`born`), so a resume of a channel never published is
 * exact, and one whose hash is missing later reads as unknown.
 * Reply: { epoch first or '', newest seq of the channel or '', entries after the seq, oldest
 * first, the clock of the channel's Redis in µs }.
 * The engine's gap fill (what a subscriber missed between two messages or across a reconnect),
 * and where a channel stands.
 */
export const POSITION_SCRIPT = `
local entries = {}
if ARGV[3] ~= nil and ARGV[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], 'last', '0', 'born', ARGV[3])
  if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4])) end
end
if ARGV[2] == '${FLAG_ON}' then entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+') end
local t = redis.call('TIME')
local nowUs = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
return { redis.call('HGET', KEYS[1], 'first') or '', redis.call('HGET', KEYS[3], 'last') or '', entries, nowUs }
`;

export interface PositionKeys {
  /** The epoch key (on a Cluster the channel's meta hash). */
  epoch: string;
  stream: string;
  meta: string;
}

export function positionKeys(keys: PositionKeys): string[] {
  return [keys.epoch, keys.stream, keys.meta];
}

export interface PositionArgs {
  afterSeq: number;
  /** Read the entries after `afterSeq`; false: only where the channel stands. */
  readEntries: boolean;
  /** A feed's first read: a channel with no meta hash gets one born at `afterSeq`, kept this long (ms, 0 = no ttl). */
  markWithTtl?: number;
}

export function positionArgs(args: PositionArgs): Array<string | number> {
  const argv: Array<string | number> = [formatSeq(args.afterSeq), flag(args.readEntries)];
  if (args.markWithTtl !== undefined) argv.push(formatSeq(args.afterSeq), args.markWithTtl);
  return argv;
}

export interface PositionReply {
  /** First position of the current epoch, '' when Redis holds none. */
  epoch: string;
  /** Newest position of the channel, 0 when Redis knows none. */
  last: number;
  /** Entries after the position, oldest first (none when not asked to read). */
  entries: StreamEntry[];
  /** The clock of the channel's Redis, µs. */
  nowUs: number;
}

export function decodePositionReply(reply: unknown): PositionReply {
  const [epoch, last, entries, now] = reply as [string, string, StreamEntry[], string];
  return { epoch, last: Number(last), entries, nowUs: Number(now) };
}
