import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import Fastify from 'fastify';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttp2Server, type Http2AppOptions } from '../../examples/http2/app.js';
import { selfSignedCertificate, type KeyAndCert } from '../../examples/http2/selfSigned.js';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { shouldRunBrowserTests, useChromium } from '../support/browser-chromium.js';
import { defer, runCleanups, track } from '../support/cleanup.js';

// `node:http2` (`http2.createSecureServer`, with and without `allowHTTP1`): route handlers,
// run(), resume and the slow-client bound, with Node's HTTP/2 client and with Chromium, which
// puts ten EventSources on one HTTP/2 connection where HTTP/1.1 stops at six.

const STEP_MS = 8000;

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('openssl is required (CI=true): apt-get install -y openssl');
    const line = '!'.repeat(78);
    console.warn(`\n${line}\n!! SKIPPING HTTP/2 tests: no openssl to make a certificate\n${line}\n`);
    return false;
  }
}

interface H2Server {
  eventStream: EventStream;
  server: http2.Http2SecureServer;
  port: number;
  /** HTTP/2 sessions (connections) the server accepted. */
  sessions: number;
  /** Every response the server handed to gripstream, by request path. */
  responses: Map<string, http2.Http2ServerResponse | import('node:http').ServerResponse>;
}

async function startServer(
  cert: KeyAndCert,
  options: Http2AppOptions & { stream?: EventStreamOptions; https1Only?: boolean } = {},
): Promise<H2Server> {
  const eventStream = track(new EventStream(options.stream));
  const app = createHttp2Server(eventStream, cert, options);
  const responses: H2Server['responses'] = new Map();
  const route = app.listeners('request')[0] as (req: unknown, res: unknown) => void;
  // For the HTTP/1.1 contrast, the same routes on an HTTPS server that offers no HTTP/2.
  const server = (options.https1Only === true ? https.createServer(cert) : app) as http2.Http2SecureServer;
  server.removeAllListeners('request');
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    responses.set(req.url, res);
    route(req, res);
  });
  const state: H2Server = { eventStream, server, port: 0, sessions: 0, responses };
  server.on('session', () => state.sessions++);
  server.on('secureConnection', () => {
    if (options.https1Only === true) state.sessions++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as AddressInfo).port;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  defer(async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return state;
}

/** One SSE stream over an HTTP/2 client session. */
class H2Stream {
  readonly events: EventSourceMessage[] = [];
  status: number | undefined;
  body = '';
  readonly request: http2.ClientHttp2Stream;
  private waiters: Array<() => void> = [];

  constructor(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}) {
    this.request = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    const parser = createParser({ onEvent: (event) => this.events.push(event) });
    this.request.setEncoding('utf8');
    this.request.on('response', (head) => {
      this.status = head[':status'];
      this.notify();
    });
    this.request.on('data', (text: string) => {
      this.body += text;
      parser.feed(text);
      this.notify();
    });
    this.request.on('end', () => this.notify());
    this.request.on('error', () => {});
    defer(() => {
      if (!this.request.destroyed) this.request.close();
    });
  }

  until(test: () => boolean, what: string): Promise<void> {
    return until(test, what, (wake) => this.waiters.push(wake));
  }

  named(name: string): EventSourceMessage[] {
    return this.events.filter((event) => event.event === name);
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Resolves when `test()` holds, re-checked on each wake-up; fails after STEP_MS. */
function until(test: () => boolean, what: string, subscribe: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_MS);
    const check = (): void => {
      if (test()) {
        clearTimeout(timer);
        resolve();
      } else {
        subscribe(check);
      }
    };
    check();
  });
}

function connect(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  defer(() => {
    session.destroy();
  });
  return session;
}

/** Resolves once the EventStream counts `n` open streams (it counts them on connect). */
function streamsOpen(server: H2Server, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (server.eventStream.stats().connections >= n) resolve();
      else if (Date.now() - started > STEP_MS) reject(new Error(`${n} streams did not open`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

const canRun = opensslAvailable();

describe.runIf(canRun)('HTTP/2 with node:http2', () => {
  let cert: KeyAndCert;

  beforeAll(() => {
    cert = selfSignedCertificate();
  });

  afterEach(runCleanups);

  it('a route handler and run() stream events over h2; Last-Event-ID resumes; a bad channel is a 400', async () => {
    const server = await startServer(cert);
    const session = connect(server.port);
    const viaRoute = new H2Stream(session, '/events?channel=news');
    const viaRun = new H2Stream(session, '/run/news');
    await viaRoute.until(() => viaRoute.named('stream-open').length === 1, 'route stream-open');
    await viaRun.until(() => viaRun.named('stream-open').length === 1, 'run stream-open');
    expect(viaRoute.status).toBe(200);

    await server.eventStream.publishEvent('news', { event: 'message', data: { text: 'one' } });
    await server.eventStream.publishEvent('news', { event: 'message', data: { text: 'two' } });
    for (const stream of [viaRoute, viaRun]) {
      await stream.until(() => stream.named('message').length === 2, 'two messages');
      expect(stream.named('message').map((e) => JSON.parse(e.data).text)).toEqual(['one', 'two']);
    }
    expect(server.sessions).toBe(1);

    const firstId = viaRoute.named('message')[0]!.id!;
    const resumed = new H2Stream(session, '/events?channel=news', { 'last-event-id': firstId });
    await resumed.until(() => resumed.named('message').length === 1, 'the replay');
    expect(resumed.named('message').map((e) => JSON.parse(e.data).text)).toEqual(['two']);

    const refused = new H2Stream(session, '/events?channel=');
    await refused.until(() => refused.request.readableEnded, 'the refusal');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/^[^\n]+\n$/);
  });

  it('with allowHTTP1, one port serves HTTP/2 and HTTP/1.1 (TLS) clients the same events', async () => {
    const server = await startServer(cert, { allowHTTP1: true });
    const h2 = new H2Stream(connect(server.port), '/events?channel=both');
    const h1Body: string[] = [];
    let h1Version = '';
    const h1 = https.get(
      { host: '127.0.0.1', port: server.port, path: '/events?channel=both', rejectUnauthorized: false, agent: false },
      (res) => {
        h1Version = res.httpVersion;
        res.setEncoding('utf8');
        res.on('data', (text: string) => h1Body.push(text));
      },
    );
    h1.on('error', () => {});
    defer(() => h1.destroy());
    await streamsOpen(server, 2);
    await server.eventStream.publishEvent('both', { event: 'message', data: 'hello' });
    await h2.until(() => h2.named('message').length === 1, 'h2 message');
    await until(() => h1Body.join('').includes('data: "hello"'), 'h1 message', (wake) => setTimeout(wake, 10));
    expect(h1Version).toBe('1.1');
    expect(h1Body.join('')).toMatch(/^event: stream-open\n/);
  });

  it('a stream that stops reading is dropped at the buffer bound; its neighbour on the same connection keeps up', async () => {
    const bound = 64 * 1024;
    const server = await startServer(cert, { stream: { maxBufferedBytes: bound } });
    const session = connect(server.port);
    const slow = new H2Stream(session, '/events?channel=flood&who=slow');
    slow.request.pause();
    const fast = new H2Stream(session, '/events?channel=flood&who=fast');
    await streamsOpen(server, 2);
    const slowResponse = server.responses.get('/events?channel=flood&who=slow')!;
    const payload = 'p'.repeat(2000);
    let published = 0;
    let peak = 0;
    while (server.eventStream.stats().clientsDropped === 0 && published < 2000) {
      peak = Math.max(peak, slowResponse.writableLength);
      await server.eventStream.publishEvent('flood', { event: 'message', data: payload });
      published++;
      // Let HTTP/2 move what flow control allows before the next sample.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.eventStream.stats().clientsDropped).toBe(1);
    // Sampled before each publish: never past the bound plus two ticks' frames (the bound
    // judges what was left unread from earlier ticks, see test/bus/slow-client/; one event per tick here).
    expect(peak).toBeLessThanOrEqual(bound + 2 * (payload.length + 64));
    expect(server.eventStream.stats().connections).toBe(1);
    await server.eventStream.publishEvent('flood', { event: 'message', data: 'after' });
    await fast.until(() => fast.events.at(-1)?.data === '"after"', "the neighbour's next event");
    expect(fast.named('message')).toHaveLength(published + 1);
    // The slow stream was reset, not the connection.
    slow.request.resume();
    if (!slow.request.closed) await once(slow.request, 'close');
    expect(slow.request.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(session.destroyed).toBe(false);
  });

  it('a stream the client resets leaves the bus, also while authorize is still pending', async () => {
    let releaseAuthorize: (() => void) | undefined;
    const authorizing = new Promise<void>((resolve) => (releaseAuthorize = resolve));
    const disconnects: string[] = [];
    const server = await startServer(cert, {
      stream: {
        authorize: async (_req, channels) => {
          if (channels[0] === 'slow-auth') await authorizing;
          return true;
        },
        onDisconnect: (info) => disconnects.push(info.channels.join()),
      },
    });
    const session = connect(server.port);
    const open = new H2Stream(session, '/events?channel=open');
    await open.until(() => open.named('stream-open').length === 1, 'stream-open');
    const closed = once(server.responses.get('/events?channel=open')!, 'close');
    open.request.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    expect(server.eventStream.stats().connections).toBe(0);
    expect(disconnects).toEqual(['open']);

    const pending = new H2Stream(session, '/events?channel=slow-auth');
    await until(() => server.responses.has('/events?channel=slow-auth'), 'the request', (wake) => setTimeout(wake, 5));
    const pendingClosed = once(server.responses.get('/events?channel=slow-auth')!, 'close');
    pending.request.close(http2.constants.NGHTTP2_CANCEL);
    await pendingClosed;
    releaseAuthorize!();
    // The connection is still good, and the late authorize opened nothing.
    const after = new H2Stream(session, '/events?channel=after');
    await after.until(() => after.named('stream-open').length === 1, 'stream-open after');
    expect(server.eventStream.stats().channels).toEqual({ after: 1 });
  });

  it("Fastify's HTTP/2 server (http2: true) serves eventStream.fastify() over h2, typed", async () => {
    const eventStream = track(new EventStream());
    const app = Fastify({ http2: true, https: cert });
    app.addHook('preClose', () => eventStream.close());
    app.get('/rooms/:room/events', eventStream.fastify('room-{room}'));
    defer(() => app.close());
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const stream = new H2Stream(connect(Number(new URL(address).port)), '/rooms/7/events');
    await stream.until(() => stream.named('stream-open').length === 1, 'stream-open');
    await eventStream.publishEvent('room-7', { event: 'message', data: 'over h2' });
    await stream.until(() => stream.named('message').length === 1, 'the message');
    expect(stream.status).toBe(200);
    expect(stream.named('message')[0]!.data).toBe('"over h2"');
  });

  it('with allowHTTP1, a TLS HTTP/1.1 client that stops reading is dropped at the bound too', async () => {
    const bound = 64 * 1024;
    const server = await startServer(cert, { allowHTTP1: true, stream: { maxBufferedBytes: bound } });
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    socket.on('error', () => {});
    defer(() => socket.destroy());
    await once(socket, 'secureConnect');
    socket.pause();
    socket.write('GET /events?channel=flood1 HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
    await streamsOpen(server, 1);
    const response = server.responses.get('/events?channel=flood1')!;
    const payload = 'p'.repeat(2000);
    let peak = 0;
    let published = 0;
    while (server.eventStream.stats().clientsDropped === 0 && published < 5000) {
      peak = Math.max(peak, response.writableLength);
      await server.eventStream.publishEvent('flood1', { event: 'message', data: payload });
      published++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.eventStream.stats().clientsDropped).toBe(1);
    // The bound plus two ticks' frames (see test/bus/slow-client/; one event per tick here).
    expect(peak).toBeLessThanOrEqual(bound + 2 * (payload.length + 64));
  });
});

describe.runIf(canRun && shouldRunBrowserTests())('ten EventSources in one Chromium page', () => {
  let cert: KeyAndCert;
  const browser = useChromium();

  beforeAll(() => {
    cert = selfSignedCertificate();
  });

  afterEach(runCleanups);

  async function openPage(port: number): Promise<import('playwright-core').Page> {
    const context = await browser().newContext({ ignoreHTTPSErrors: true });
    defer(() => context.close());
    const page = await context.newPage();
    await page.goto(`https://localhost:${port}/?n=10`, { timeout: STEP_MS });
    return page;
  }

  async function publishToAll(eventStream: EventStream): Promise<void> {
    for (let i = 0; i < 10; i++) await eventStream.publishEvent(`c${i}`, { event: 'message', data: { text: `hi ${i}` } });
  }

  it('over HTTP/2 all ten receive their events, on one connection', async () => {
    const server = await startServer(cert);
    const page = await openPage(server.port);
    await streamsOpen(server, 10);
    await publishToAll(server.eventStream);
    await page.waitForFunction(() => (window as unknown as { received: string[][] }).received.every((r) => r.length === 1), null, {
      timeout: STEP_MS,
    });
    const received = await page.evaluate(() => (window as unknown as { received: string[][] }).received);
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => [`hi ${i}`]));
    expect(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');
    expect(server.sessions).toBe(1);
    expect(server.eventStream.stats().connections).toBe(10);
  });

  it('over HTTP/1.1 (same TLS, no h2) six open and the seventh to tenth stay pending', async () => {
    const server = await startServer(cert, { https1Only: true });
    const page = await openPage(server.port);
    await streamsOpen(server, 6);
    // The four others are queued in the browser: nothing reaches the server however long we wait.
    await page.waitForFunction(
      () => (window as unknown as { sources: EventSource[] }).sources.filter((s) => s.readyState === 1).length === 6,
      null,
      { timeout: STEP_MS },
    );
    await publishToAll(server.eventStream);
    await page.waitForFunction(
      () => (window as unknown as { received: string[][] }).received.filter((r) => r.length === 1).length === 6,
      null,
      { timeout: STEP_MS },
    );
    const states = await page.evaluate(() => (window as unknown as { sources: EventSource[] }).sources.map((s) => s.readyState));
    expect(states.filter((s) => s === EventSourceOpen)).toHaveLength(6);
    expect(states.filter((s) => s === EventSourceConnecting)).toHaveLength(4);
    expect(server.eventStream.stats().connections).toBe(6);
    expect(server.sessions).toBe(6);
    expect(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe(
      'http/1.1',
    );
  });
});

const EventSourceConnecting = 0;
const EventSourceOpen = 1;
