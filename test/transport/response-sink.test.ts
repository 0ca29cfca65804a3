/**
 * The node transport's sink (transport/responseSink.ts) on its own, against a real
 * `node:http` response on 127.0.0.1 and a raw TCP client that reads when the test says so.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import type { StreamSink } from '../../src/bus/Subscriber.js';
import { EVENT_STREAM_HEADERS } from '../../src/sse/streamHeaders.js';
import { startResponseStream } from '../../src/transport/responseSink.js';
import { runCleanups } from '../support/cleanup.js';
import { startHttp } from '../support/server.js';
import { withTimeout } from '../support/wait.js';

afterEach(runCleanups);

const OPENING = Frame.of('event: stream-open\ndata: \n\n');
const MS = 10_000;

interface Opened {
  res: ServerResponse;
  sink: StreamSink;
  client: RawClient;
}

/** A TCP client that keeps every byte it got; paused, it stops reading (the kernel buffers fill). */
class RawClient {
  text = '';
  readonly ended: Promise<void>;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** The body after the head, chunk framing removed. */
  get body(): string {
    const at = this.text.indexOf('\r\n\r\n');
    if (at === -1) return '';
    let rest = this.text.slice(at + 4);
    let out = '';
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd === -1) return out;
      const size = Number.parseInt(rest.slice(0, lineEnd), 16);
      if (size === 0 || rest.length < lineEnd + 2 + size) return out;
      out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
  }

  /** Whether the body ended properly: the last chunk, of length zero, arrived. */
  get finished(): boolean {
    return this.text.endsWith('\r\n0\r\n\r\n');
  }

  waitFor(condition: (client: RawClient) => boolean, what: string): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (condition(this)) resolve();
          else this.waiters.push(check);
        };
        check();
      }),
      MS,
      what,
    );
  }
}

/** A server whose one request becomes a response stream through `startResponseStream`. */
async function open(prepare: (res: ServerResponse) => void = () => {}): Promise<Opened> {
  let resolveOpened!: (value: { res: ServerResponse; sink: StreamSink }) => void;
  const opened = new Promise<{ res: ServerResponse; sink: StreamSink }>((resolve) => (resolveOpened = resolve));
  const { port } = await startHttp((req: IncomingMessage, res: ServerResponse) => {
    prepare(res);
    resolveOpened({ res, sink: startResponseStream(res, EVENT_STREAM_HEADERS, OPENING, req.method) });
  });
  const socket = net.connect(port, '127.0.0.1');
  const client = new RawClient(socket);
  socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  const { res, sink } = await withTimeout(opened, MS, 'the request to reach the server');
  return { res, sink, client };
}

describe('startResponseStream', () => {
  it('sends the head and the opening frames before anything is written', async () => {
    const { client } = await open();
    await client.waitFor((c) => c.body === 'event: stream-open\ndata: \n\n', 'the opening frames');
    expect(client.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.text).toMatch(/\r\ncontent-type: text\/event-stream\r\n/i);
    expect(client.text).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
  });

  it('writes frames in order, one at a time and several at once, and skips empty ones', async () => {
    const { sink, client } = await open();
    sink.write(Frame.of('data: 1\n\n'));
    sink.write(Frame.of(''));
    sink.writeAll([Frame.of('data: 2\n\n'), Frame.of(''), Frame.of('data: 3\n\n')]);
    sink.write(Frame.of('data: é\n\n'));
    await client.waitFor((c) => c.body.endsWith('data: é\n\n'.replace('é', '\xc3\xa9')), 'the fourth frame');
    // A zero-length chunk would have ended the body early.
    expect(client.finished).toBe(false);
    expect(client.body).toBe('event: stream-open\ndata: \n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: \xc3\xa9\n\n');
  });

  it('goes through res.write when middleware wrapped it (and the wrapper sees every frame)', async () => {
    const seen: number[] = [];
    const { sink, client } = await open((res) => {
      const write = res.write.bind(res) as (chunk: unknown) => boolean;
      res.write = ((chunk: unknown) => {
        seen.push((chunk as Buffer).length);
        return write(chunk);
      }) as typeof res.write;
    });
    sink.write(Frame.of('data: wrapped\n\n'));
    await client.waitFor((c) => c.body.endsWith('data: wrapped\n\n'), 'the frame through the wrapper');
    expect(seen).toContain('data: wrapped\n\n'.length);
  });
});

describe('response sink: backpressure', () => {
  it('write() says false once the client stops reading, writableLength counts what it left, and onDrain fires once it reads', async () => {
    const { sink, client } = await open();
    await client.waitFor((c) => c.body.length > 0, 'the opening frames');
    client.socket.pause();
    const frame = Frame.of(`data: ${'x'.repeat(64 * 1024)}\n\n`);
    let writes = 0;
    // Bounded: the kernel's buffers on both sides hold a few MB at most.
    while (sink.write(frame)) {
      writes++;
      if (writes > 2000) throw new Error('write() never said false for a client that does not read');
    }
    writes++;
    expect(sink.writableLength).toBeGreaterThan(0);
    const drained = new Promise<void>((resolve) => sink.onDrain(resolve));
    client.socket.resume();
    await withTimeout(drained, MS, 'drain after the client read again');
    await client.waitFor((c) => c.body.length === OPENING.length + writes * frame.length, 'every frame');
  });
});

describe('response sink: close', () => {
  it('end() ends the body with its last chunk', async () => {
    const { sink, client } = await open();
    sink.write(Frame.of('data: last\n\n'));
    sink.end();
    await client.waitFor((c) => c.finished, 'the last chunk');
    expect(client.body).toBe('event: stream-open\ndata: \n\ndata: last\n\n');
  });

  it('destroy() drops the connection without the last chunk (the client can tell it from an ending)', async () => {
    const { sink, client } = await open();
    await client.waitFor((c) => c.body.length > 0, 'the opening frames');
    sink.destroy();
    await withTimeout(client.ended, MS, 'the connection to close');
    expect(client.finished).toBe(false);
  });

  it('the response says close when the client leaves', async () => {
    const { res, client } = await open();
    await client.waitFor((c) => c.body.length > 0, 'the opening frames');
    const closed = once(res, 'close');
    client.socket.destroy();
    await withTimeout(closed, MS, "the response's close");
  });

  it('writing, ending and dropping after the client left neither throws nor emits an error', async () => {
    const { res, sink, client } = await open();
    await client.waitFor((c) => c.body.length > 0, 'the opening frames');
    const errors: unknown[] = [];
    res.on('error', (err) => errors.push(err));
    res.socket?.on('error', (err) => errors.push(err));
    const closed = once(res, 'close');
    client.socket.destroy();
    await withTimeout(closed, MS, "the response's close");
    expect(() => sink.write(Frame.of('data: late\n\n'))).not.toThrow();
    expect(() => sink.writeAll([Frame.of('data: a\n\n'), Frame.of('data: b\n\n')])).not.toThrow();
    expect(() => sink.end()).not.toThrow();
    expect(() => sink.destroy()).not.toThrow();
    // Errors are emitted on a later tick, if at all.
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
  });
});
