/**
 * The pub/sub message of one publish call: its one format, written here (the Lua the append
 * script runs to build it, src/redis/scripts/append.ts) and read here (decodeBatch, in every
 * instance's subscription). Netstrings (`<byte length>:<bytes>`) of the epoch, the channel's
 * previous position, then per event its position, id, event and data. Lengths in bytes let
 * data hold any character.
 */
export interface BatchMessage {
  epoch: string;
  prevSeq: number;
  items: BatchItem[];
}

export interface BatchItem {
  seq: number;
  id: string;
  event: string;
  data: string;
}

/** Fields before the first event: epoch, previous position. */
const HEAD_FIELDS = 2;
/** Fields per event: position, id, event, data. */
const ITEM_FIELDS = 4;

/**
 * The writing side, as Lua pieces of the append script (which has the values in its locals:
 * `first` the epoch, `prevSeq`, and per event `s` its position, `id`, `ARGV[i]` the event,
 * `ARGV[i + 1]` the data). The field order here is the order decodeBatch reads.
 */
export const MESSAGE_LUA = {
  /** Declares the parts and `put`, which appends one netstring field. */
  writer: "local parts = {}\nlocal function put(s) parts[#parts + 1] = #s .. ':' .. s end\n",
  /** The HEAD_FIELDS fields. */
  head: 'put(first); put(prevSeq)',
  /** The ITEM_FIELDS fields of one event. */
  item: 'put(s); put(id); put(ARGV[i]); put(ARGV[i + 1])',
  /** The whole message. */
  text: 'table.concat(parts)',
} as const;

/** Decodes a message; undefined for anything not written by the append script. */
export function decodeBatch(message: Buffer): BatchMessage | undefined {
  const fields: string[] = [];
  let offset = 0;
  while (offset < message.length) {
    const colon = message.indexOf(0x3a, offset);
    if (colon < 0) return undefined;
    const length = Number(message.toString('latin1', offset, colon));
    if (!Number.isSafeInteger(length) || colon + 1 + length > message.length) return undefined;
    fields.push(message.toString('utf8', colon + 1, colon + 1 + length));
    offset = colon + 1 + length;
  }
  if (fields.length < HEAD_FIELDS || (fields.length - HEAD_FIELDS) % ITEM_FIELDS !== 0) return undefined;
  const items: BatchItem[] = [];
  for (let i = HEAD_FIELDS; i < fields.length; i += ITEM_FIELDS) {
    items.push({ seq: Number(fields[i]), id: fields[i + 1]!, event: fields[i + 2]!, data: fields[i + 3]! });
  }
  return { epoch: fields[0]!, prevSeq: Number(fields[1]), items };
}
