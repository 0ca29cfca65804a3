import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { EventSource } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { EventStream, HISTORY_TRUNCATED_EVENT, type ConnectionInfo, type EventStreamOptions } from '../../src/index.js';
import { WAIT_MS, Waiter } from '../support/waiter.js';

// `eventStream.fetch(request, channels, params?)`: first with hand-made WHATWG Requests and
// the Response read directly, then served by Hono on @hono/node-server to real clients.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));


/** Reads an event-stream Response body with its reader, parsing events as they arrive. */
class BodyReader {
  readonly events: EventSourceMessage[] = [];
  text = '';
  /** 'done' when the body ended normally, the error when it errored. */
  outcome: 'done' | Error | undefined;
  private readonly waiter = new Waiter();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly response: Response) {
    this.reader = response.body!.getReader();
    void this.pump();
  }

  next(match: (e: EventSourceMessage) => boolean, label: string): Promise<EventSourceMessage> {
    return this.waiter.until(() => {
      const found = this.events.find(match);
      if (found === undefined && this.outcome !== undefined) throw new Error(`body ended before ${label}`);
      return found;
    }, label);
  }

  ended(): Promise<'done' | Error> {
    return this.waiter.until(() => this.outcome, 'the body to end');
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }

  private async pump(): Promise<void> {
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        this.waiter.notify();
      },
    });
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        this.text += chunk;
        parser.feed(chunk);
      }
      this.outcome = 'done';
    } catch (err) {
      this.outcome = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.waiter.notify();
    }
  }
}

interface Recorded {
  eventStream: EventStream;
  connects: ConnectionInfo[];
  disconnects: ConnectionInfo[];
  hooks: Waiter;
}

const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

function track(options: EventStreamOptions = {}): Recorded {
  const hooks = new Waiter();
  const connects: ConnectionInfo[] = [];
  const disconnects: ConnectionInfo[] = [];
  const eventStream = new EventStream({
    ...options,
    onConnect: (info) => {
      connects.push(info);
      hooks.notify();
    },
    onDisconnect: (info) => {
      disconnects.push(info);
      hooks.notify();
    },
  });
  cleanups.push(() => eventStream.close());
  return { eventStream, connects, disconnects, hooks };
}

/** A Request as a fetch runtime hands it over, with its own abort controller (the client). */
function request(url: string, headers: Record<string, string> = { accept: 'text/event-stream' }) {
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  return { request: new Request(url, { headers, signal: controller.signal }), controller };
}

describe('eventStream.fetch() with plain Request objects', () => {
  it('answers a Response whose ReadableStream body carries stream-open, then published events', async () => {
    const { eventStream, connects } = track();
    const { request: req } = request('http://localhost/x');
    const response = await eventStream.fetch(req, 'x');
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.body).toBeInstanceOf(ReadableStream);
    expect(connects).toEqual([{ req, channels: ['x'], proxied: false }]);

    const body = new BodyReader(response);
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await eventStream.publishEvent('other', { event: 'elsewhere', data: 0 });
    await eventStream.publishEvent('x', { event: 'update', data: { n: 1 } });
    await eventStream.publishEvent('x', { event: 'update', data: 'two\nlines' });
    await body.next((e) => e.data === '"two\\nlines"', 'second update');
    expect(body.events.map((e) => [e.event, e.data])).toEqual([
      ['stream-open', ''],
      ['update', '{"n":1}'],
      ['update', '"two\\nlines"'],
    ]);
  });

  it('sends the retry field first when configured', async () => {
    const { eventStream } = track({ retry: 1234 });
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    expect(body.text.startsWith('retry: 1234\n\n')).toBe(true);
  });

  it('fills {name} from params, else from the URL query; a builder gets the Request itself', async () => {
    const { eventStream } = track();
    await eventStream.fetch(request('http://localhost/rooms/7').request, 'room-{id}', { id: '7' });
    await eventStream.fetch(request('http://localhost/rooms?id=9').request, ['room-{id}', 'lobby']);
    let seen: unknown;
    const built = request('http://localhost/me', { accept: 'text/event-stream', 'x-user': 'ann' });
    await eventStream.fetch(built.request, (r) => {
      seen = r;
      return `user-${r.headers.get('x-user')}`;
    });
    expect(seen).toBe(built.request);
    expect(eventStream.stats().channels).toEqual({ 'room-7': 1, 'room-9': 1, lobby: 1, 'user-ann': 1 });
  });

  it('removes the subscriber when the request signal aborts, and ends the body without an error', async () => {
    const { eventStream, connects, disconnects, hooks } = track();
    const { request: req, controller } = request('http://localhost/x');
    const body = new BodyReader(await eventStream.fetch(req, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats()).toMatchObject({ connections: 1, channels: { x: 1 } });

    controller.abort();
    await hooks.until(() => disconnects.length === 1, 'onDisconnect');
    expect(disconnects).toEqual(connects);
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
    expect(await body.ended()).toBe('done');
    // Publishing afterwards reaches nobody and breaks nothing.
    await eventStream.publishEvent('x', { event: 'late', data: 1 });
    expect(body.events.some((e) => e.event === 'late')).toBe(false);
  });

  it('removes the subscriber when the reader cancels', async () => {
    const { eventStream, disconnects } = track();
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await body.cancel();
    expect(disconnects).toHaveLength(1);
    expect(eventStream.stats().connections).toBe(0);
  });

  it('does not subscribe a request whose signal is already aborted', async () => {
    const { eventStream, disconnects } = track();
    const { request: req, controller } = request('http://localhost/x');
    controller.abort();
    const response = await eventStream.fetch(req, 'x');
    expect(await new BodyReader(response).ended()).toBe('done');
    expect(disconnects).toHaveLength(1);
    expect(eventStream.stats().connections).toBe(0);
  });

  it('answers 406 and 400 as Responses, without subscribing', async () => {
    const { eventStream, connects } = track();
    const notAcceptable = await eventStream.fetch(request('http://localhost/x', { accept: 'text/html' }).request, 'x');
    expect(notAcceptable.status).toBe(406);
    expect(notAcceptable.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await notAcceptable.text()).toBe('this endpoint only serves text/event-stream\n');

    const missing = await eventStream.fetch(request('http://localhost/x').request, 'room-{id}');
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(/missing parameter "id"/);

    const invalid = await eventStream.fetch(request('http://localhost/x').request, 'room-{id}', { id: 'a,b' });
    expect(invalid.status).toBe(400);

    expect(connects).toHaveLength(0);
    expect(eventStream.stats().connections).toBe(0);
  });

  it("rejects with a channel builder's or authorize's own error, for the framework to answer", async () => {
    const boom = new Error('builder exploded');
    const { eventStream, connects } = track();
    await expect(
      eventStream.fetch(request('http://localhost/x').request, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const denied = new Error('auth service down');
    const strict = track({ authorize: () => Promise.reject(denied) });
    await expect(strict.eventStream.fetch(request('http://localhost/x').request, 'x')).rejects.toBe(denied);
    expect(connects).toHaveLength(0);
    expect(strict.connects).toHaveLength(0);
    expect(eventStream.stats().connections + strict.eventStream.stats().connections).toBe(0);
  });

  it('replays history after Last-Event-ID (header or query), then streams live', async () => {
    const { eventStream } = track();
    for (const n of [1, 2, 3]) await eventStream.publishEvent('r', { event: 'tick', data: n, id: `e${n}` });

    const fromHeader = new BodyReader(
      await eventStream.fetch(request('http://localhost/r', { accept: 'text/event-stream', 'last-event-id': 'e1' }).request, 'r'),
    );
    const fromQuery = new BodyReader(await eventStream.fetch(request('http://localhost/r?lastEventId=e2').request, 'r'));
    await fromHeader.next((e) => e.id === 'e3', 'replayed e3 (header)');
    await fromQuery.next((e) => e.id === 'e3', 'replayed e3 (query)');
    await eventStream.publishEvent('r', { event: 'tick', data: 4, id: 'e4' });
    await fromHeader.next((e) => e.id === 'e4', 'live e4 (header)');
    await fromQuery.next((e) => e.id === 'e4', 'live e4 (query)');

    expect(fromHeader.events.map((e) => e.id ?? e.event)).toEqual(['stream-open', 'e2', 'e3', 'e4']);
    expect(fromQuery.events.map((e) => e.id ?? e.event)).toEqual(['stream-open', 'e3', 'e4']);

    // An id this history never made: the client is told it may have missed events.
    const unknown = new BodyReader(
      await eventStream.fetch(request('http://localhost/r', { accept: 'text/event-stream', 'last-event-id': 'nope' }).request, 'r'),
    );
    const notice = await unknown.next((e) => e.event === HISTORY_TRUNCATED_EVENT, 'history-truncated');
    expect(JSON.parse(notice.data)).toEqual({ lastEventId: 'nope' });
  });

  it('ends every body on eventStream.close()', async () => {
    const { eventStream, disconnects } = track();
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await eventStream.close();
    expect(await body.ended()).toBe('done');
    expect(eventStream.stats().connections).toBe(0);
    expect(disconnects).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

/** The Hono example on @hono/node-server, on an ephemeral loopback port. */
async function startHono(options: EventStreamOptions = {}): Promise<Recorded & { base: string; server: ServerType }> {
  const recorded = track(options);
  let server!: ServerType;
  const listening = new Promise<number>((resolve) => {
    server = serve({ fetch: createApp(recorded.eventStream).fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(info.port),
    );
  });
  cleanups.push(async () => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  const port = await listening;
  return { ...recorded, base: `http://127.0.0.1:${port}`, server };
}

interface Received {
  type: string;
  data: string;
  lastEventId: string;
}

/** An `eventsource` client recording the named events it is told to listen for. */
function listen(url: string, types: string[]) {
  const source = new EventSource(url);
  cleanups.push(() => source.close());
  const received: Received[] = [];
  const waiter = new Waiter();
  for (const type of types) {
    source.addEventListener(type, (e) => {
      received.push({ type, data: e.data, lastEventId: e.lastEventId });
      waiter.notify();
    });
  }
  const next = (match: (e: Received) => boolean, label: string, timeoutMs?: number) =>
    waiter.until(() => received.find(match), label, timeoutMs);
  return { source, received, next };
}

async function publish(base: string, channel: string, body: unknown): Promise<number> {
  const res = await fetch(`${base}/publish/${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('eventStream.fetch() through Hono (examples/hono)', () => {
  it('delivers events to an EventSource client on the channel named by the route param', async () => {
    const { base, eventStream, connects } = await startHono();
    const client = listen(`${base}/events/h1`, ['stream-open', 'message', 'custom']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ h1: 1 });
    expect(connects[0]).toMatchObject({ channels: ['h1'], proxied: false });
    // The example serves the route with eventStream.hono(): hooks receive Hono's context.
    expect((connects[0]!.req as { req: { raw: unknown } }).req.raw).toBeInstanceOf(Request);

    expect(await publish(base, 'h2', { event: 'message', data: 'not for h1' })).toBe(202);
    expect(await publish(base, 'h1', { event: 'message', data: { hello: 'hono' } })).toBe(202);
    expect(await publish(base, 'h1', { event: 'custom', data: [1, 2] })).toBe(202);
    const custom = await client.next((e) => e.type === 'custom', 'custom event');
    expect(custom.data).toBe('[1,2]');
    expect(client.received.map((e) => [e.type, e.data])).toEqual([
      ['stream-open', ''],
      ['message', '{"hello":"hono"}'],
      ['custom', '[1,2]'],
    ]);
    expect(client.received[1]!.lastEventId).toMatch(/^\d+$/);
  });

  it('answers 406 through Hono as a plain Response', async () => {
    const { base, eventStream } = await startHono();
    const res = await fetch(`${base}/events/h1`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(res.status).toBe(406);
    expect(await res.text()).toBe('this endpoint only serves text/event-stream\n');
    expect(eventStream.stats().connections).toBe(0);
  });

  it('brings stats().connections back to 0 when the client closes, quietly', async () => {
    const logged = [vi.spyOn(console, 'error').mockImplementation(() => {}), vi.spyOn(console, 'info').mockImplementation(() => {})];
    const { base, eventStream, disconnects, hooks } = await startHono();
    const client = listen(`${base}/events/bye`, ['stream-open']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(eventStream.stats().connections).toBe(1);

    client.source.close();
    await hooks.until(() => disconnects.length === 1, 'onDisconnect');
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
    // An ordinary disconnect is not an error: @hono/node-server logs a stream that errors.
    for (const spy of logged) expect(spy).not.toHaveBeenCalled();
  });

  it('replays what was missed, exactly once, when EventSource reconnects with Last-Event-ID', async () => {
    const { base, eventStream, server, connects, disconnects, hooks } = await startHono({ retry: 50 });
    const client = listen(`${base}/events/resume`, ['stream-open', 'message']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    await eventStream.publishEvent('resume', { event: 'message', data: 1 });
    await client.next((e) => e.data === '1', 'event 1');

    // Cut the connection under the client; it comes back by itself after `retry`.
    if ('closeAllConnections' in server) server.closeAllConnections();
    await hooks.until(() => disconnects.length === 1, 'the server to see the disconnect');
    await eventStream.publishEvent('resume', { event: 'message', data: 2 });
    await hooks.until(() => connects.length === 2, 'the reconnect');
    await eventStream.publishEvent('resume', { event: 'message', data: 3 });
    await client.next((e) => e.data === '3', 'event 3');

    expect(client.received.filter((e) => e.type === 'message').map((e) => e.data)).toEqual(['1', '2', '3']);
    expect(client.received.filter((e) => e.type === 'stream-open')).toHaveLength(2);
  });

  it('drops a client that stops reading once its ReadableStream passes maxBufferedBytes; others keep streaming', async () => {
    // @hono/node-server reports the errored body of a dropped client; keep the output clean.
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const maxBufferedBytes = 64 * 1024;
    const { eventStream, base, hooks, connects } = await startHono({ maxBufferedBytes });
    const fast = listen(`${base}/events/flood`, ['stream-open', 'big']);
    await fast.next((e) => e.type === 'stream-open', 'fast stream-open');

    // A raw client that sends its request and then never reads.
    const { port } = new URL(base);
    const slow = net.connect(Number(port), '127.0.0.1');
    cleanups.push(() => slow.destroy());
    slow.pause();
    await once(slow, 'connect');
    slow.write(`GET /events/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    await hooks.until(() => connects.length === 2, 'the slow client to subscribe');

    const payload = 'x'.repeat(16 * 1024);
    const maxEvents = 4000; // 64 MiB: far past socket buffers plus the bound
    let sent = 0;
    while (eventStream.stats().clientsDropped === 0 && sent < maxEvents) {
      await eventStream.publishEvent('flood', { event: 'big', data: `${sent}:${payload}` });
      sent++;
      // Let sockets drain and the fast client read.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(eventStream.stats().clientsDropped).toBe(1);
    expect(sent).toBeLessThan(maxEvents);
    expect(eventStream.stats()).toMatchObject({ connections: 1, channels: { flood: 1 } });

    // The fast client is still there and gets everything, including what comes next.
    await eventStream.publishEvent('flood', { event: 'big', data: 'last' });
    await fast.next((e) => e.data === '"last"', 'the event after the drop', 15_000);
    expect(fast.received.filter((e) => e.type === 'big')).toHaveLength(sent + 1);

    // The server closed the slow client's connection (not just forgot it).
    const closed = once(slow, 'close');
    slow.on('error', () => {});
    slow.resume();
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('slow socket was not closed')), WAIT_MS)),
    ]);
  });
});

describe('examples/hono/server.ts as a process', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('starts with PORT, streams and publishes, and exits cleanly on SIGTERM', async () => {
    // node --import tsx: one process (the tsx CLI would fork another), so kill() reaches it.
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/hono/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const started = new Waiter();
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      started.notify();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const base = await started.until(() => output.match(/http:\/\/127\.0\.0\.1:\d+/)?.[0], 'the server to log its URL', 15_000);
    const client = listen(`${base}/events/proc`, ['stream-open', 'hello']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(await publish(base, 'proc', { event: 'hello', data: 'from a process' })).toBe(202);
    const hello = await client.next((e) => e.type === 'hello', 'hello');
    expect(JSON.parse(hello.data)).toBe('from a process');
    client.source.close();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await Promise.race([
      exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit after SIGTERM: ${output}`)), 2 * WAIT_MS)),
    ])) as [number | null];
    expect(code).toBe(0);
  });
});
