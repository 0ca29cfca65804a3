// The accept path's synchronous fast path (issue 25: server CPU per accepted stream): a stream
// that needs nothing awaited is on the bus, its head and opening on the socket, before run()
// returns; a route with a check still waits for it; a throw on that path still reaches the
// caller as a rejection. The first failed before the change (the stream opened a few
// microtask turns later).
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest, type RawReply } from '../support/resume-helpers.js';
import { runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

const REQUEST = 'GET /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';

/** What `run()` had done by the time it returned, seen from inside the request handler. */
interface AtReturn {
  connections: number;
  headersSent: boolean;
  written: number;
}

describe('accepting a stream', () => {
  it('a route of names with no check: subscribed, head and opening written, before run() returns', async () => {
    const es = track({ keepAliveInterval: 60_000 });
    let atReturn: AtReturn | undefined;
    const srv = await serve((req, res) => {
      const done = es.run(req, res, 'news');
      atReturn = { connections: es.stats().connections, headersSent: res.headersSent, written: res.socket?.writableLength ?? -1 };
      void done;
    });
    const reply: RawReply = await rawRequest(srv.port, REQUEST, { ms: 5000, until: (t) => t.includes('stream-open') });
    expect(reply.head).toMatch(/^HTTP\/1\.1 200/);
    expect(atReturn?.connections).toBe(1);
    expect(atReturn?.headersSent).toBe(true);
    // The head and the opening were handed to the socket in one corked write, already done.
    expect(atReturn?.written).toBe(0);
  });

  it('a route with authorize still waits for it: nothing is subscribed or written before it answers', async () => {
    // Answers on the next turn of the event loop, after run() has long returned.
    const es = track({ keepAliveInterval: 60_000, authorize: () => new Promise<boolean>((resolve) => setImmediate(() => resolve(true))) });
    let atReturn: AtReturn | undefined;
    const srv = await serve((req, res) => {
      void es.run(req, res, 'news');
      atReturn = { connections: es.stats().connections, headersSent: res.headersSent, written: 0 };
    });
    const reply = await rawRequest(srv.port, REQUEST, { ms: 5000, until: (t) => t.includes('stream-open') });
    expect(reply.head).toMatch(/^HTTP\/1\.1 200/);
    expect(atReturn?.connections).toBe(0);
    expect(atReturn?.headersSent).toBe(false);
  });

  it('onConnect throwing on the synchronous path: run() rejects with its error (never throws), nothing stays subscribed', async () => {
    const failure = new Error('onConnect failed');
    const es = track({
      keepAliveInterval: 60_000,
      onConnect: () => {
        throw failure;
      },
    });
    let outcome: Promise<void> | undefined;
    let threw: unknown;
    const srv = await serve((req, res) => {
      try {
        outcome = es.run(req, res, 'news');
      } catch (err) {
        threw = err;
        res.destroy();
      }
      outcome?.catch(() => res.destroy());
    });
    await rawRequest(srv.port, REQUEST, { ms: 5000 });
    expect(threw).toBeUndefined();
    await expect(outcome).rejects.toBe(failure);
    expect(es.stats().connections).toBe(0);
  });
});
