/**
 * Attacks on the shape of requests rather than their content: clients that leave at every
 * moment (mid-head, during authorize, during the history read), pipelining, slowloris-style
 * partial heads, bodies on a GET, HTTP/1.0, and bursts of connects and drops. Expected: every
 * request answered or cleanly dropped, the server never blocked, `stats().connections` back
 * to 0. (100 pipelined streams on one socket: test/transport/pipelining.test.ts; HEAD and other
 * methods: test/transport/methods.test.ts.)
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { MemoryHistory, type HistoryStore, type Replay } from '../../src/index.js';
import { RawClient } from '../support/raw.js';
import { observeFor, turn } from '../support/wait.js';
import { noneLeft, sendBytes, serve, statusOf, stillServes, watchForEscapes, WAIT_MS } from './harness.js';

watchForEscapes();

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Connects a bare socket (for requests RawClient cannot shape). */
async function socketTo(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  return socket;
}

describe('clients that leave early', () => {
  it('200 clients that leave mid-head, right after the head, or right after stream-open → nothing left', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const leave = async (i: number): Promise<void> => {
      const socket = await socketTo(target.port);
      if (i % 3 === 0) socket.write('GET /a HTTP/1.1\r\nHost: x\r\nAcc');
      else socket.write('GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
      if (i % 3 === 2) await new Promise((resolve) => socket.once('data', resolve));
      socket.destroy();
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => leave(i)));
    await noneLeft(target.es);
    await stillServes(target, '/a', 'a');
  });

  it('a client that leaves while authorize is pending is never subscribed', async () => {
    const pending = gate();
    let asked = 0;
    const target = await serve(
      {
        authorize: async () => {
          asked++;
          await pending.promise;
          return true;
        },
      },
      (app, es) => app.get('/a', es('a')),
    );
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.get(target.port, { path: '/a' })));
    await new Promise<void>((resolve) => {
      const check = (): void => (asked === 20 ? resolve() : void setImmediate(check));
      check();
    });
    for (const client of clients) client.destroy();
    await Promise.all(clients.map((c) => c.waitForClose()));
    await observeFor(20); // the server sees the closes
    pending.open();
    await turn();
    await noneLeft(target.es);
    expect(target.es.stats().connections).toBe(0);
  });

  it('a client that leaves while its history read is pending: nothing left, no crash when the read answers', async () => {
    const pending = gate();
    const inner = new MemoryHistory();
    const store: HistoryStore = {
      append: (channel, event) => inner.append(channel, event),
      readAfter: async (channels, id): Promise<Replay> => {
        await pending.promise;
        return inner.readAfter(channels, id);
      },
    };
    const target = await serve({ history: store }, (app, es) => app.get('/a', es('a')));
    await target.es.publishEvent('a', { event: 'm', data: 1 });
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => RawClient.get(target.port, { path: '/a', headers: { 'Last-Event-ID': 'x' } })),
    );
    await Promise.all(clients.map((c) => c.waitForEvents(1, WAIT_MS)));
    for (const client of clients) client.destroy();
    await noneLeft(target.es);
    pending.open();
    await observeFor(20);
    await target.es.publishEvent('a', { event: 'm', data: 2 });
    expect(target.es.stats().connections).toBe(0);
  });
});

describe('pipelining and partial requests', () => {
  it('a refused request pipelined before a stream: both answered, in order (the stream refused or served)', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const text = await sendBytes(
      target.port,
      'GET /a HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
      (t) => t.includes('stream-open') || /HTTP\/1\.1 400[\s\S]*\r\n\r\n[^\n]*\n/.test(t.slice(t.indexOf('\r\n\r\n'))),
    );
    expect(statusOf(text)).toBe(406);
    const second = text.slice(text.indexOf('HTTP/1.1', 1));
    expect(second).toMatch(/^HTTP\/1\.1 (200[\s\S]*event: stream-open|400[\s\S]*own connection)/);
    await noneLeft(target.es);
  });

  it('a slowloris head (one byte at a time) is served once complete; others are served meanwhile', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const socket = await socketTo(target.port);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const request = 'GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    for (const [i, byte] of [...request].entries()) {
      socket.write(byte);
      if (i === 20) await stillServes(target, '/a', 'a'); // the server is not blocked by the partial head
      await observeFor(2);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no stream-open after the slow head')), WAIT_MS);
      const check = (): void => {
        if (received.includes('stream-open')) {
          clearTimeout(timer);
          resolve();
        } else socket.once('data', check);
      };
      check();
    });
    socket.destroy();
    await noneLeft(target.es);
  });

  it('a partial head that never completes holds no subscription', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const sockets = await Promise.all(Array.from({ length: 50 }, () => socketTo(target.port)));
    for (const socket of sockets) socket.write('GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/ev');
    await stillServes(target, '/a', 'a');
    await noneLeft(target.es);
    for (const socket of sockets) socket.destroy();
  });

  it('a GET with a chunked body that never ends still streams, and cleans up when dropped', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const socket = await socketTo(target.port);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await new Promise<void>((resolve) => {
      const check = (): void => (received.includes('stream-open') ? resolve() : void socket.once('data', check));
      check();
    });
    await target.es.publishEvent('a', { event: 'm', data: 'body' });
    await new Promise<void>((resolve) => {
      const check = (): void => (received.includes('"body"') ? resolve() : void socket.once('data', check));
      check();
    });
    socket.destroy();
    await noneLeft(target.es);
  });

  it('HTTP/1.0 and Expect: 100-continue requests are streamed and cleaned up', async () => {
    const target = await serve({}, (app, es) => app.get('/a', es('a')));
    const old = await RawClient.get(target.port, { path: '/a', httpVersion: '1.0' });
    const expecting = await RawClient.get(target.port, { path: '/a', headers: { Expect: '100-continue' } });
    await Promise.all([old.waitForEvents(1, WAIT_MS), expecting.waitForEvents(1, WAIT_MS)]);
    await target.es.publishEvent('a', { event: 'm', data: 'both' });
    await Promise.all([old.waitForEvents(2, WAIT_MS), expecting.waitForEvents(2, WAIT_MS)]);
    old.destroy();
    expecting.destroy();
    await noneLeft(target.es);
  });
});

describe('bursts', () => {
  it('300 connects and drops interleaved with publishes: the clients that stay get every event, nothing leaks', async () => {
    const target = await serve({}, (app, es) => {
      app.get('/a', es('a'));
      app.get('/ab', es('a', 'b'));
    });
    const stayers = await Promise.all(Array.from({ length: 20 }, (_, i) => RawClient.get(target.port, { path: i % 2 ? '/a' : '/ab' })));
    await Promise.all(stayers.map((c) => c.waitForEvents(1, WAIT_MS)));
    const churn = Array.from({ length: 300 }, async (_, i) => {
      const client = await RawClient.get(target.port, { path: i % 2 ? '/a' : '/ab', retain: false });
      if (i % 4 === 0) await client.waitForEvents(1, WAIT_MS);
      client.destroy();
    });
    for (let n = 0; n < 50; n++) {
      await target.es.publishEvent('a', { event: 'm', data: n });
      await turn();
    }
    await Promise.all(churn);
    for (const client of stayers) {
      await client.waitForEvents(51, WAIT_MS);
      expect(client.events.slice(1).map((e) => e.data)).toEqual(Array.from({ length: 50 }, (_, n) => String(n)));
      client.destroy();
    }
    await noneLeft(target.es);
  });
});
