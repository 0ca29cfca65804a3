import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidChannelError, type HistoryStore, type Replay, type StreamRequest } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { LibraryTimers } from '../support/timers.js';
import { observeFor } from '../support/wait.js';

// What goes over the socket: status line, headers, the opening frames, keep-alive comments,
// and the plain-text refusals. Raw sockets, so nothing is hidden by a client library.

afterEach(runCleanups);

const STREAM_OPEN = 'event: stream-open\ndata: \n\n';

async function serveRoute(
  es: EventStream,
  handler: ReturnType<EventStream> = es('ch'),
): Promise<{ port: number; url: string }> {
  const app = express();
  app.get('/e', handler);
  return startApp(app);
}

describe('response head', () => {
  it('200 with the event-stream headers and nothing forced on Connection/Transfer-Encoding', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    const head = await raw.waitForHead();
    expect(head.statusLine).toBe('HTTP/1.1 200 OK');
    expect(head.headers['content-type']).toBe('text/event-stream');
    expect(head.headers['cache-control']).toBe('no-cache, no-transform');
    expect(head.headers['x-accel-buffering']).toBe('no');
    // Node's own choices for an HTTP/1.1 keep-alive request; nothing else.
    expect(head.headers['connection'] ?? 'keep-alive').toBe('keep-alive');
    expect(head.headers['transfer-encoding']).toBe('chunked');
    expect(head.headers['content-length']).toBeUndefined();
    expect(head.headers['content-encoding']).toBeUndefined();
  });

  it('an HTTP/1.0 client gets no Transfer-Encoding at all (the library forces none)', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e', httpVersion: '1.0' });
    const head = await raw.waitForHead();
    expect(head.status).toBe(200);
    expect(head.headers['transfer-encoding']).toBeUndefined();
    expect(head.headers['connection']).not.toMatch(/transfer-encoding/i);
    await raw.waitForBody(STREAM_OPEN);
    expect(raw.bodyText.startsWith(STREAM_OPEN)).toBe(true);
    await es.publishEvent('ch', { event: 'e', data: 'plain body' });
    await raw.waitForBody('event: e\ndata: "plain body"\n\n');
    expect(raw.rawText).not.toMatch(/\r\n[0-9a-f]+\r\n/);
  });

  it('the head is on the wire before any event is published', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    const head = await raw.waitForHead();
    expect(head.status).toBe(200);
    expect(es.stats().eventsPublished).toBe(0);
  });

  it('the head and stream-open arrive while the replay is still being read', async () => {
    // A history store whose replay we hold back: the replay cannot be written until it
    // answers, but the client must already have its headers and the opening event.
    let release!: (replay: Replay) => void;
    const store: HistoryStore = {
      append: (channel, inputs) => inputs.map((input, i) => ({ seq: i + 1, id: String(i + 1), channel, ...input })),
      readAfter: () => new Promise<Replay>((resolve) => (release = resolve)),
    };
    const es = track(new EventStream({ history: store }));
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e', headers: { 'Last-Event-ID': '1' } });
    const head = await raw.waitForHead();
    expect(head.status).toBe(200);
    await raw.waitForBody(STREAM_OPEN);
    const replayed = { seq: 2, id: '2', channel: 'ch', event: 'old', data: '"x"' };
    release({ records: [replayed], complete: true });
    await raw.waitForEvents(2);
    expect(raw.bodyText).toBe(`${STREAM_OPEN}id: 2\nevent: old\ndata: "x"\n\n`);
  });

  it('the head leaves in the same packet as the opening frames', async () => {
    const es = track(new EventStream({ history: false }));
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    expect(raw.raw[0]!.toString('latin1')).toMatch(/\r\n\r\n[0-9a-f]+\r\nevent: stream-open\n/);
  });

});

describe('body framing', () => {
  /** Splits a chunked body into its chunks' payloads, checking every size line and CRLF. */
  function chunksOf(rawText: string): string[] {
    let rest = Buffer.from(rawText.slice(rawText.indexOf('\r\n\r\n') + 4));
    const chunks: string[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      const sizeLine = rest.subarray(0, lineEnd).toString('latin1');
      expect(sizeLine).toMatch(/^[0-9a-f]+$/);
      const size = parseInt(sizeLine, 16);
      const payload = rest.subarray(lineEnd + 2, lineEnd + 2 + size);
      expect(rest.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString()).toBe('\r\n');
      rest = rest.subarray(lineEnd + 4 + size);
      if (size === 0) break;
      chunks.push(payload.toString('utf8'));
    }
    expect(rest.length).toBe(0);
    return chunks;
  }

  it('every write is one well-formed chunk; close() ends the body with the last chunk', async () => {
    const es = track(new EventStream({ history: false }));
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    await es.publishEvent('ch', { event: 'one', data: 'é 😀' });
    await raw.waitForEvents(2);
    // A burst in one tick: gathered into a single chunk.
    await es.publishEvents('ch', Array.from({ length: 50 }, (_, i) => ({ event: 'burst', data: i })));
    await raw.waitForEvents(52);
    await es.close();
    await raw.waitForComplete();
    const chunks = chunksOf(raw.rawText);
    expect(chunks[0]).toBe(STREAM_OPEN);
    expect(chunks[1]).toBe('event: one\ndata: "é 😀"\n\n');
    expect(chunks.slice(2).join('')).toBe(
      Array.from({ length: 50 }, (_, i) => `event: burst\ndata: ${i}\n\n`).join(''),
    );
    expect(chunks.length).toBe(3);
  });

  it('a HEAD request gets the head and never a body byte', async () => {
    const es = track(new EventStream({ history: false }));
    const { port } = await serveRoute(es);
    const head = await RawClient.get(port, { path: '/e', method: 'HEAD' });
    await head.waitForHead();
    const get = await RawClient.get(port, { path: '/e' });
    await get.waitForBody(STREAM_OPEN);
    await es.publishEvent('ch', { event: 'e', data: 1 });
    await get.waitForEvents(2);
    expect(head.head!.status).toBe(200);
    expect(head.bodyBytes).toBe(0);
  });

  it('a middleware that wraps res.write sees every byte of the stream', async () => {
    const es = track(new EventStream({ history: false }));
    let seen = '';
    const app = express();
    app.use((_req, res, next) => {
      const write = res.write;
      res.write = ((chunk: Buffer) => {
        seen += chunk.toString('utf8');
        return write.call(res, chunk, 'utf8', () => {});
      }) as typeof res.write;
      next();
    });
    app.get('/e', es('ch'));
    const { port } = await startApp(app);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    await es.publishEvent('ch', { event: 'e', data: 'through the wrapper' });
    await raw.waitForEvents(2);
    expect(seen).toBe(raw.bodyText);
    expect(seen).toContain('through the wrapper');
  });
});

describe('opening frames', () => {
  it('the body starts with exactly `event: stream-open\\ndata: \\n\\n`', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    expect(raw.bodyText).toBe(STREAM_OPEN);
  });

  it('with retry: 3000 the body starts with `retry: 3000\\n\\n` then stream-open', async () => {
    const es = track(new EventStream({ retry: 3000 }));
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    expect(raw.bodyText).toBe(`retry: 3000\n\n${STREAM_OPEN}`);
  });

  it('an EventSource client sees stream-open first, with empty data', async () => {
    const es = track(new EventStream());
    const { url } = await serveRoute(es);
    const client = await connectSse(`${url}/e`);
    expect(client.events[0]).toMatchObject({ type: 'stream-open', data: '' });
  });

  it('a published event follows stream-open as one framed event with an id', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    await es.publishEvent('ch', { event: 'update', data: { a: 1 } });
    await raw.waitForEvents(2);
    expect(raw.bodyText).toMatch(/^event: stream-open\ndata: \n\nid: [^\n]+\nevent: update\ndata: \{"a":1\}\n\n$/);
  });
});

describe('keep-alive', () => {
  const INTERVAL = 200;

  it('an idle stream gets `: keep-alive\\n\\n`, at most once per interval', async () => {
    const es = track(new EventStream({ keepAliveInterval: INTERVAL }));
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    const start = raw.headAt!;
    await raw.waitFor((c) => c.comments.length >= 3, '3 keep-alive comments', 5000);
    const elapsed = raw.comments[2]!.at - start;
    // Three comments cannot come faster than one per interval (one of slack for timer phase).
    expect(elapsed).toBeGreaterThanOrEqual(2 * INTERVAL - 20);
    expect(raw.bodyText).toBe(STREAM_OPEN + ': keep-alive\n\n'.repeat(raw.comments.length));
    expect(raw.events).toHaveLength(1);
  });

  it('each connection gets its own keep-alives, never more than one per elapsed interval', async () => {
    const es = track(new EventStream({ keepAliveInterval: INTERVAL }));
    const { port } = await serveRoute(es);
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.get(port, { path: '/e' })));
    await Promise.all(clients.map((c) => c.waitForBody(STREAM_OPEN)));
    const opened = Math.min(...clients.map((c) => c.headAt!));
    await Promise.all(clients.map((c) => c.waitFor((x) => x.comments.length >= 2, '2 keep-alives', 5000)));
    const window = performance.now() - opened;
    for (const client of clients) {
      expect(client.comments.length).toBeLessThanOrEqual(Math.floor(window / INTERVAL) + 1);
    }
  });

  it('one timer serves every connection (50 connections, one library timer)', async () => {
    const timers = LibraryTimers.start();
    try {
      const es = track(new EventStream({ keepAliveInterval: INTERVAL }));
      const { port } = await serveRoute(es);
      const first = await RawClient.get(port, { path: '/e' });
      await first.waitForBody(STREAM_OPEN);
      const withOne = timers.live.size;
      const more = await Promise.all(Array.from({ length: 49 }, () => RawClient.get(port, { path: '/e' })));
      await Promise.all(more.map((c) => c.waitForBody(STREAM_OPEN)));
      expect(es.stats().connections).toBe(50);
      expect(withOne).toBe(1);
      expect(timers.live.size).toBe(1);
      expect(timers.created).toHaveLength(1);
      // ...and that timer does reach all 50.
      await Promise.all([first, ...more].map((c) => c.waitFor((x) => x.comments.length >= 1, 'a keep-alive', 5000)));
      await es.close();
      expect(timers.live.size).toBe(0);
    } finally {
      timers.stop();
    }
  });

  it('a keepAliveInterval beyond what setInterval can hold is refused, or at least does not flood clients', async () => {
    // 2^31 ms is a positive number, accepted by the constructor, but setInterval overflows
    // at 2^31 - 1 and runs it every 1 ms instead (TimeoutOverflowWarning).
    let es: EventStream;
    try {
      es = track(new EventStream({ keepAliveInterval: 2 ** 31 }));
    } catch (err) {
      // Refusing it up front is an acceptable fix.
      expect((err as { code?: string }).code).toBe('ERR_INVALID_CONFIG');
      return;
    }
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForBody(STREAM_OPEN);
    await observeFor(150);
    expect(raw.comments).toHaveLength(0);
  });
});

describe('refusals', () => {
  async function request(
    handler: (es: EventStream) => ReturnType<EventStream>,
    accept: string | null = 'text/event-stream',
  ): Promise<{ raw: RawClient; es: EventStream }> {
    const es = track(new EventStream());
    const { port } = await serveRoute(es, handler(es));
    const raw = await RawClient.get(port, { path: '/e', accept });
    await raw.waitForHead();
    if (raw.head!.status !== 200) await raw.waitForComplete();
    return { raw, es };
  }

  function expectOneLinePlainText(raw: RawClient): void {
    expect(raw.head!.headers['content-type']).toMatch(/^text\/plain\b/);
    expect(raw.bodyText).toMatch(/^[^\r\n]+\n$/);
  }

  it.each([
    ['text/html', 406],
    [null, 200],
    ['*/*', 200],
    ['text/*', 200],
    ['text/event-stream', 200],
    ['TEXT/Event-Stream', 200],
    ['text/event-stream; charset=utf-8', 200],
    ['text/html, text/event-stream;q=0.5', 200],
    ['text/event-stream;q=0, */*', 406],
    ['application/json', 406],
    ['text/html, */*;q=0', 406],
  ])('Accept: %s → %i', async (accept, status) => {
    const { raw, es } = await request((es) => es('ch'), accept);
    expect(raw.head!.status).toBe(status);
    if (status === 200) {
      expect(raw.head!.headers['content-type']).toBe('text/event-stream');
      expect(es.stats().connections).toBe(1);
    } else {
      expectOneLinePlainText(raw);
      expect(es.stats().connections).toBe(0);
    }
  });

  const tooMany = Array.from({ length: 101 }, (_, i) => `c${i}`);
  it.each<[string, () => string | string[]]>([
    ['an empty list', () => []],
    ['an empty name', () => ''],
    ['a blank name', () => '  '],
    ['a name with a comma', () => 'a,b'],
    ['a name with a semicolon', () => 'a;b'],
    ['a name with a double quote (opens a quoted string in Grip-Channel)', () => 'a"b'],
    ['a name with CR', () => 'a\rb'],
    ['a name with LF', () => 'a\nb'],
    ['a name with CRLF', () => ['ok', 'a\r\nb']],
    ['a name with NUL', () => 'a\0b'],
    ['a name of 256 bytes', () => 'x'.repeat(256)],
    ['a name of 256 bytes in 128 two-byte characters', () => 'é'.repeat(128)],
    ['101 channels', () => tooMany],
  ])('400 when the builder returns %s', async (_what, build) => {
    const { raw, es } = await request((es) => es(() => build()));
    expect(raw.head!.status).toBe(400);
    expectOneLinePlainText(raw);
    expect(es.stats().connections).toBe(0);
  });

  it.each<[string, () => string | string[], string[]]>([
    ['a name of exactly 255 bytes', () => 'x'.repeat(255), ['x'.repeat(255)]],
    ['255 bytes of multi-byte text', () => 'é'.repeat(127) + 'a', ['é'.repeat(127) + 'a']],
    ['exactly 100 channels', () => tooMany.slice(0, 100), tooMany.slice(0, 100)],
    ['a name with surrounding spaces (trimmed)', () => '  padded  ', ['padded']],
  ])('200 for %s', async (_what, build, expected) => {
    const { raw, es } = await request((es) => es(() => build()));
    expect(raw.head!.status).toBe(200);
    expect(Object.keys(es.stats().channels).sort()).toEqual([...expected].sort());
  });

  it.each([
    ['a comma', '/e/a%2Cb'],
    ['a semicolon', '/e/a;b'],
    ['NUL', '/e/a%00b'],
  ])('400 when a route parameter brings %s into a template', async (_what, path) => {
    const es = track(new EventStream());
    const app = express();
    app.get('/e/:id', es('{id}'));
    const { port } = await startApp(app);
    const raw = await RawClient.get(port, { path });
    await raw.waitForComplete();
    expect(raw.head!.status).toBe(400);
    expectOneLinePlainText(raw);
  });

  it('a literal channel that can never be valid is refused where the route is declared', () => {
    const es = track(new EventStream());
    expect(() => es('bad,channel')).toThrow(InvalidChannelError);
    expect(() => es('bad,channel')).toThrow(/eventStream\('a', 'b'\)/);
  });

  it('a refusal is a complete response with a Content-Length, not a stream', async () => {
    const es = track(new EventStream());
    const { port } = await serveRoute(es);
    const raw = await RawClient.get(port, { path: '/e', accept: 'text/html' });
    await raw.waitForComplete();
    expect(raw.head!.status).toBe(406);
    expect(raw.head!.headers['content-length']).toBe(String(Buffer.byteLength(raw.bodyText)));
    expect(raw.head!.headers['transfer-encoding']).toBeUndefined();
    expect(es.stats().connections).toBe(0);
  });

  it('the builder receives the request object itself', async () => {
    let seen: StreamRequest | undefined;
    const { raw } = await request((es) =>
      es((req) => {
        seen = req;
        return 'ch';
      }),
    );
    expect(raw.head!.status).toBe(200);
    expect(seen?.headers.accept).toBe('text/event-stream');
  });
});
