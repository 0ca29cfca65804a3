/**
 * A minimal, streaming HTTP/1.1 response reader for the load client: it finds the end of
 * the response head, checks the status, and strips chunked transfer-encoding framing,
 * handing body bytes on as (buffer, start, end) ranges without copying.
 *
 * Why hand-rolled: the client holds up to 10,000 sockets on one core and must stay
 * cheaper than any server under test, so it cannot afford `http.request` (or an
 * EventSource) per connection. It only needs what an SSE response uses.
 */

export type BodySink = (buf: Buffer, start: number, end: number) => void;

const CR = 13;
const LF = 10;
const SEMICOLON = 59;

/** Response heads larger than this are treated as malformed (SSE heads are ~200 bytes). */
const MAX_HEAD_BYTES = 16 * 1024;

const enum Phase {
  Head,
  ChunkSize,
  ChunkExtension,
  ChunkData,
  ChunkDataEnd,
  /** Body without chunked framing: everything until the socket closes. */
  Identity,
  /** The terminating zero-size chunk arrived, or the head was rejected. */
  Done,
}

export class HttpResponseReader {
  /** HTTP status, 0 until the head is complete. */
  status = 0;
  /** Why the response was rejected, if it was. */
  error: string | undefined;

  private phase = Phase.Head;
  private headText = '';
  private chunkRemaining = 0;

  constructor(private readonly onBody: BodySink) {}

  get headComplete(): boolean {
    return this.status !== 0;
  }

  /** True once the server sent the terminating chunk (or the response was rejected). */
  get ended(): boolean {
    return this.phase === Phase.Done;
  }

  feed(buf: Buffer): void {
    let i = 0;
    const end = buf.length;
    while (i < end && this.phase !== Phase.Done) {
      switch (this.phase) {
        case Phase.Head:
          i = this.readHead(buf, i);
          break;
        case Phase.Identity:
          this.onBody(buf, i, end);
          i = end;
          break;
        case Phase.ChunkSize:
          i = this.readChunkSize(buf, i);
          break;
        case Phase.ChunkExtension:
          // Extensions are legal but meaningless here: skip to the end of the line.
          if (buf[i++] === LF) this.startChunk();
          break;
        case Phase.ChunkData:
          i = this.readChunkData(buf, i);
          break;
        case Phase.ChunkDataEnd:
          // The CRLF after each chunk's data.
          if (buf[i++] === LF) this.phase = Phase.ChunkSize;
          break;
      }
    }
  }

  private readHead(buf: Buffer, from: number): number {
    // The head is small and arrives once, so plain string search is fine here.
    const seen = this.headText.length;
    this.headText += buf.toString('latin1', from);
    const headEnd = this.headText.indexOf('\r\n\r\n');
    if (headEnd === -1) {
      if (this.headText.length > MAX_HEAD_BYTES) this.reject('response head too large');
      return buf.length;
    }
    this.acceptHead(this.headText.slice(0, headEnd));
    this.headText = '';
    // Resume right after the blank line, in this buffer's coordinates.
    return from + (headEnd + 4 - seen);
  }

  private acceptHead(head: string): void {
    const statusLine = head.slice(0, head.indexOf('\r\n') >>> 0);
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) return this.reject(`bad status line: ${statusLine.slice(0, 80)}`);
    this.status = Number(match[1]);
    if (this.status !== 200) return this.reject(`status ${this.status}`);
    const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
    this.phase = chunked ? Phase.ChunkSize : Phase.Identity;
  }

  private readChunkSize(buf: Buffer, from: number): number {
    let i = from;
    for (; i < buf.length; i++) {
      const byte = buf[i]!;
      const digit = hexValue(byte);
      if (digit >= 0) {
        this.chunkRemaining = this.chunkRemaining * 16 + digit;
      } else if (byte === LF) {
        this.startChunk();
        return i + 1;
      } else if (byte === SEMICOLON) {
        this.phase = Phase.ChunkExtension;
        return i + 1;
      } else if (byte !== CR) {
        this.reject(`bad chunk size byte 0x${byte.toString(16)}`);
        return buf.length;
      }
    }
    return i;
  }

  private startChunk(): void {
    // A zero-size chunk ends the body; the server closed the stream.
    this.phase = this.chunkRemaining === 0 ? Phase.Done : Phase.ChunkData;
  }

  private readChunkData(buf: Buffer, from: number): number {
    const take = Math.min(this.chunkRemaining, buf.length - from);
    this.onBody(buf, from, from + take);
    this.chunkRemaining -= take;
    if (this.chunkRemaining === 0) this.phase = Phase.ChunkDataEnd;
    return from + take;
  }

  private reject(reason: string): void {
    this.error = reason;
    this.phase = Phase.Done;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48; // 0-9
  if (byte >= 97 && byte <= 102) return byte - 87; // a-f
  if (byte >= 65 && byte <= 70) return byte - 55; // A-F
  return -1;
}
