import { EVENT_END, fieldsBetweenIdAndData, ID_LINE_START, isOneLine } from '../sse/encode.js';

const CRLF_LENGTH = 2;
// The SSE pieces a position frame is written from, made into bytes once (sse/encode.ts is
// the one place that knows the wire format).
const ID_LINE = Buffer.from(ID_LINE_START);
const EVENT_END_BYTES = Buffer.from(EVENT_END);
/** Field prefixes kept per event name, at most; further names are encoded with each frame. */
const MAX_PREFIXES = 64;
const MAX_PREFIXED_NAME = 64;

/**
 * Bytes to write to every subscriber of one publish, encoded once. They are stored inside
 * their own HTTP/1.1 chunk (`<hex length>\r\n … \r\n`), so a response that can take raw
 * chunks writes one shared buffer per publish instead of the four pieces Node's
 * `res.write` produces per subscriber.
 */
export class Frame {
  /** The same bytes framed as one HTTP/1.1 chunk. */
  readonly chunk: Buffer;
  /** Length of the event-stream bytes alone. */
  readonly length: number;
  private readonly headLength: number;

  private constructor(
    chunk: Buffer,
    headLength: number,
    /** History position, when history is on; orders live frames against a replay. */
    readonly seq: number | undefined,
    /**
     * The event before encoding, for a stream that writes its own id (a multi-channel stream
     * on a Redis Cluster, src/redis/CursorSubscriber.ts); undefined everywhere else.
     */
    readonly origin: FrameOrigin | undefined,
  ) {
    this.chunk = chunk;
    this.headLength = headLength;
    this.length = chunk.length - headLength - CRLF_LENGTH;
  }

  /** The event-stream bytes alone (a view into `chunk`), made when asked: raw chunk writes never ask. */
  get bytes(): Buffer {
    return this.chunk.subarray(this.headLength, this.headLength + this.length);
  }

  static of(text: string, seq?: number, origin?: FrameOrigin): Frame {
    const length = Buffer.byteLength(text);
    const chunk = chunkOfLength(length);
    const headLength = chunk.length - length - CRLF_LENGTH;
    chunk.write(text, headLength, length, 'utf8');
    return new Frame(chunk, headLength, seq, origin);
  }

  /**
   * The frame of an event whose id is its history position (the bytes of
   * `encodeCheckedEvent(event, data, String(seq))`), written straight into its chunk: no id
   * text is made, no string joined, and the fields between the id and the data come
   * ready-made for the event's name. Name and data must be checked already
   * (src/publish/checkEvent.ts) and the position a safe integer; undefined when the data has
   * a line break (it then needs several `data:` lines: use `of`).
   */
  static ofPosition(seq: number, event: string, data: string): Frame | undefined {
    if (!isOneLine(data) || !Number.isSafeInteger(seq) || seq < 0) return undefined;
    const fields = fieldsAfterId(event);
    let digits = 1;
    for (let v = seq; v >= 10; v = Math.floor(v / 10)) digits++;
    const dataLength = Buffer.byteLength(data);
    const length = ID_LINE.length + digits + fields.length + dataLength + EVENT_END_BYTES.length;
    const chunk = chunkOfLength(length);
    const headLength = chunk.length - length - CRLF_LENGTH;
    chunk.set(ID_LINE, headLength);
    let at = headLength + ID_LINE.length;
    let v = seq;
    for (let p = at + digits - 1; p >= at; p--) {
      const q = Math.floor(v / 10);
      chunk[p] = 0x30 + (v - q * 10);
      v = q;
    }
    at += digits;
    chunk.set(fields, at);
    at += fields.length;
    at += chunk.write(data, at, dataLength, 'utf8');
    chunk.set(EVENT_END_BYTES, at);
    return new Frame(chunk, headLength, seq, undefined);
  }

  /** Several frames as one, for a subscriber that gathered more than one in a tick. */
  static join(frames: readonly Frame[], byteLength: number): Frame {
    const chunk = chunkOfLength(byteLength);
    const headLength = chunk.length - byteLength - CRLF_LENGTH;
    let offset = headLength;
    for (const frame of frames) offset += frame.chunk.copy(chunk, offset, frame.headLength, frame.headLength + frame.length);
    return new Frame(chunk, headLength, undefined, undefined);
  }
}

/** One channel's event as published, so that a stream can re-encode it with its own id. */
export interface FrameOrigin {
  channel: string;
  event: string;
  data: string;
}

/**
 * A chunk for `length` bytes of content, its head and tail written: `<hex length>\r\n`,
 * then room for the content, then `\r\n`. The head is written byte by byte: a string
 * for a few hex digits would cost more than the frame's own encoding.
 */
function chunkOfLength(length: number): Buffer {
  let hexDigits = 1;
  for (let v = length; v >= 16; v = Math.floor(v / 16)) hexDigits++;
  const chunk = Buffer.allocUnsafe(hexDigits + CRLF_LENGTH + length + CRLF_LENGTH);
  let v = length;
  for (let p = hexDigits - 1; p >= 0; p--) {
    chunk[p] = HEX[v & 15]!;
    v = Math.floor(v / 16);
  }
  chunk[hexDigits] = 0x0d;
  chunk[hexDigits + 1] = 0x0a;
  chunk[chunk.length - 2] = 0x0d;
  chunk[chunk.length - 1] = 0x0a;
  return chunk;
}

const HEX = Buffer.from('0123456789abcdef');

/** Per event name, the bytes of `fieldsBetweenIdAndData(name)`. */
const prefixes = new Map<string, Buffer>();

function fieldsAfterId(event: string): Buffer {
  const kept = prefixes.get(event);
  if (kept !== undefined) return kept;
  const fields = Buffer.from(fieldsBetweenIdAndData(event));
  // Names are few in practice; a publisher minting a name per event must not grow this.
  if (prefixes.size < MAX_PREFIXES && event.length <= MAX_PREFIXED_NAME) prefixes.set(event, fields);
  return fields;
}
