const CRLF_LENGTH = 2;
const LINE_BREAK = /\r\n|\r|\n/;
const ID_FIELD = Buffer.from('id: ');
const EVENT_FIELD = Buffer.from('event: ');
const DATA_FIELD = Buffer.from('data: ');

/**
 * Bytes to write to every subscriber of one publish, encoded once. They are stored inside
 * their own HTTP/1.1 chunk (`<hex length>\r\n … \r\n`), so a response that can take raw
 * chunks writes one shared buffer per publish instead of the four pieces Node's
 * `res.write` produces per subscriber.
 */
export class Frame {
  /** The event-stream bytes alone. */
  readonly bytes: Buffer;
  /** The same bytes framed as one HTTP/1.1 chunk (`bytes` is a view into it). */
  readonly chunk: Buffer;

  private constructor(
    chunk: Buffer,
    headLength: number,
    /** History position, when history is on; orders live frames against a replay. */
    readonly seq: number | undefined,
    /**
     * The event before encoding, for a stream that writes its own id (a multi-channel stream
     * on a Redis Cluster, src/engine/CursorSubscriber.ts); undefined everywhere else.
     */
    readonly origin: FrameOrigin | undefined,
  ) {
    this.chunk = chunk;
    this.bytes = chunk.subarray(headLength, chunk.length - CRLF_LENGTH);
  }

  static of(text: string, seq?: number, origin?: FrameOrigin): Frame {
    const length = Buffer.byteLength(text);
    const { chunk, headLength } = chunkOfLength(length);
    chunk.write(text, headLength, length, 'utf8');
    return new Frame(chunk, headLength, seq, origin);
  }

  /**
   * The frame of an event whose id is its history position, `id: <digits>`, written straight
   * into its chunk: no id text is made, no string joined. Name and data must be checked
   * already (src/publish/checkEvent.ts) and the position a safe integer; undefined when the
   * data has a line break (it then needs several `data:` lines: use `of`).
   */
  static ofPosition(seq: number, event: string, data: string): Frame | undefined {
    if (LINE_BREAK.test(data) || !Number.isSafeInteger(seq) || seq < 0) return undefined;
    let digits = 1;
    for (let v = seq; v >= 10; v = Math.floor(v / 10)) digits++;
    const eventLength = event === '' ? 0 : Buffer.byteLength(event);
    const dataLength = Buffer.byteLength(data);
    // id: <digits>\n [event: <name>\n] data: <data>\n\n
    const length = 4 + digits + 1 + (event === '' ? 0 : 7 + eventLength + 1) + 6 + dataLength + 2;
    const { chunk, headLength } = chunkOfLength(length);
    let at = headLength + ID_FIELD.copy(chunk, headLength);
    let v = seq;
    for (let p = at + digits - 1; p >= at; p--) {
      const q = Math.floor(v / 10);
      chunk[p] = 0x30 + (v - q * 10);
      v = q;
    }
    at += digits;
    chunk[at++] = 0x0a;
    if (event !== '') {
      at += EVENT_FIELD.copy(chunk, at);
      at += chunk.write(event, at, eventLength, 'utf8');
      chunk[at++] = 0x0a;
    }
    at += DATA_FIELD.copy(chunk, at);
    at += chunk.write(data, at, dataLength, 'utf8');
    chunk[at++] = 0x0a;
    chunk[at] = 0x0a;
    return new Frame(chunk, headLength, seq, undefined);
  }

  /** Several frames as one, for a subscriber that gathered more than one in a tick. */
  static join(frames: readonly Frame[], byteLength: number): Frame {
    const { chunk, headLength } = chunkOfLength(byteLength);
    let offset = headLength;
    for (const frame of frames) offset += frame.bytes.copy(chunk, offset);
    return new Frame(chunk, headLength, undefined, undefined);
  }
}

/** One channel's event as published, so that a stream can re-encode it with its own id. */
export interface FrameOrigin {
  channel: string;
  event: string;
  data: string;
}

function chunkOfLength(length: number): { chunk: Buffer; headLength: number } {
  const head = `${length.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafe(head.length + length + CRLF_LENGTH);
  chunk.write(head, 0, head.length, 'latin1');
  chunk[chunk.length - 2] = 0x0d;
  chunk[chunk.length - 1] = 0x0a;
  return { chunk, headLength: head.length };
}
