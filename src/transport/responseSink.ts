import { ServerResponse } from 'node:http';
import { constants, type Http2ServerResponse } from 'node:http2';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { Frame } from '../bus/Frame.js';
import type { StreamSink } from '../bus/Subscriber.js';
import type { StreamResponse } from '../types.js';

const nodeWrite = ServerResponse.prototype.write;

/**
 * Starts an event stream on `res`: the head goes out at once, in the same packet as `opening`
 * (the stream's first frames), one write where flushing the head on its own would take two.
 * The client has its head and `stream-open` before any history is read.
 */
export function startResponseStream(
  res: StreamResponse,
  headers: Readonly<Record<string, string>>,
  opening: Frame,
  method: string | undefined,
): StreamSink {
  if (!(res instanceof ServerResponse)) return startHttp2Stream(res, headers, opening, method);
  res.writeHead(200, headers);
  // Corked, the head and the opening leave as one write. flushHeaders() writes the head as a
  // string of its own, which also flattens Node's concatenated header string in place: sent
  // along with a Buffer instead, it would be kept as some 20 string pieces (~750 B) per stream.
  const socket = res.socket;
  socket?.cork();
  res.flushHeaders();
  // The head is in the (corked) socket now: the opening can already go as a raw chunk, one
  // buffer behind the head, where `res.write` would add three pieces of its own to that write.
  const rawSocket = rawChunkSocket(res);
  const sink = rawSocket === undefined ? new ResponseSink(res) : new RawChunkSink(res, rawSocket);
  // A HEAD response has no body (Node would ignore the write anyway).
  if (method !== 'HEAD') sink.write(opening);
  socket?.uncork();
  return sink;
}

/**
 * An HTTP/2 response (`node:http2`'s compatibility API) is a stream of one session: its
 * `socket` is the session's TLS socket, shared with every other stream, so it is neither
 * corked nor written to; frames go through `res.write`, which HTTP/2 frames and flow-controls.
 * `writableLength` is what the stream holds that the peer's flow-control window has not let out.
 */
function startHttp2Stream(
  res: Http2ServerResponse,
  headers: Readonly<Record<string, string>>,
  opening: Frame,
  method: string | undefined,
): StreamSink {
  res.writeHead(200, headers);
  const sink = new Http2ResponseSink(res);
  if (method !== 'HEAD') sink.write(opening);
  return sink;
}

/**
 * The socket to write ready-made chunks to, when nothing stands between the response and it
 * (no middleware wrapped `write`, chunked HTTP/1.1, nothing queued in the response): one shared
 * buffer and one syscall per write, where `res.write` would build four pieces per subscriber.
 * Anything else (compression, HTTP/1.0, a patched `write`) goes through `res.write`.
 * Only asked once the head is on the socket: raw chunks must not overtake it.
 */
function rawChunkSocket(res: ServerResponse): Socket | undefined {
  const socket = res.socket;
  const canTakeChunks =
    socket !== null &&
    socket.writable &&
    res.headersSent &&
    !res.writableEnded &&
    res.write === nodeWrite &&
    (res as { chunkedEncoding?: unknown }).chunkedEncoding === true &&
    // Bytes the response still holds would be overtaken by ours.
    res.writableLength === socket.writableLength;
  return canTakeChunks ? socket : undefined;
}

class RawChunkSink implements StreamSink {
  constructor(
    private readonly res: ServerResponse,
    private readonly socket: Socket,
  ) {}

  get writableLength(): number {
    return this.res.writableLength;
  }

  get sendingBytes(): number | undefined {
    return sendingBytesOf(this.socket);
  }

  write(frame: Frame): boolean {
    // A zero-length chunk would end the body.
    return frame.length === 0 || this.socket.write(frame.chunk);
  }

  writeAll(frames: readonly Frame[]): boolean {
    const socket = this.socket;
    let room = true;
    // Corked, the chunks leave in one writev.
    socket.cork();
    for (const frame of frames) if (frame.length > 0) room = socket.write(frame.chunk);
    socket.uncork();
    return room;
  }

  onDrain(listener: () => void): void {
    this.socket.once('drain', listener);
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

class ResponseSink implements StreamSink {
  // compression middleware holds output until flushed; it adds `flush()` to the response.
  private readonly flush: (() => void) | undefined;
  // Both kinds of response are typed as Writables; only that side of them is used here.
  private readonly res: Writable;
  private drainListener: (() => void) | undefined;
  private listening = false;

  constructor(res: StreamResponse) {
    this.res = res;
    const { flush } = res as { flush?: unknown };
    this.flush = typeof flush === 'function' ? () => flush.call(res) : undefined;
  }

  get writableLength(): number {
    return this.res.writableLength;
  }

  get sendingBytes(): number | undefined {
    const { socket } = this.res as { socket?: unknown };
    return socket instanceof Socket ? sendingBytesOf(socket) : undefined;
  }

  write(frame: Frame): boolean {
    if (frame.length === 0) return true;
    const room = this.res.write(frame.bytes);
    this.flush?.();
    return room;
  }

  writeAll(frames: readonly Frame[]): boolean {
    let room = true;
    this.res.cork();
    for (const frame of frames) if (frame.length > 0) room = this.res.write(frame.bytes);
    this.res.uncork();
    this.flush?.();
    return room;
  }

  onDrain(listener: () => void): void {
    this.drainListener = listener;
    if (this.listening) return;
    // One listener for the stream's life, added on first need: compression middleware moves
    // 'drain' listeners to its zlib stream, where a `once` wrapper would never be removed.
    this.listening = true;
    this.res.on('drain', () => {
      const pending = this.drainListener;
      this.drainListener = undefined;
      pending?.();
    });
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

class Http2ResponseSink extends ResponseSink {
  constructor(private readonly response: Http2ServerResponse) {
    super(response);
  }

  /** The session's socket carries every stream of the connection: its progress is not this one's. */
  override get sendingBytes(): number | undefined {
    return undefined;
  }

  /**
   * A dropped client's stream is reset with CANCEL, not NO_ERROR (what `res.destroy()` sends),
   * so the peer can tell a drop from an ending; the other streams of its connection go on.
   */
  override destroy(): void {
    const stream = this.response.stream;
    if (stream.destroyed) return;
    // close() alone would wait for the unread bytes to drain first; destroy() right after
    // resets at once, with the code close() set.
    stream.close(constants.NGHTTP2_CANCEL);
    stream.destroy();
  }
}

/**
 * What libuv still has to hand the kernel of the socket's current writes (its handle's
 * `writeQueueSize`, the figure Node's own socket timeout reads to see a write progress).
 * Internal to Node, so read defensively: undefined when it is not there.
 */
function sendingBytesOf(socket: Socket): number | undefined {
  const handle = (socket as { _handle?: { writeQueueSize?: unknown } | null })._handle;
  const queued = handle?.writeQueueSize;
  return typeof queued === 'number' ? queued : undefined;
}
