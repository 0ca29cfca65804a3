/**
 * The fetch handler (`eventStream.fetch`) attacked through a real node:http server
 * (@hono/node-server) and called directly by a careless caller: refusals are one-line 4xx
 * Responses, odd `params` never crash, and every way a client leaves (socket destroyed, request
 * aborted, body cancelled, never read) releases its subscription.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve as serveHono, type ServerType } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { noneLeft, watchForEscapes, WAIT_MS } from './harness.js';

watchForEscapes();

function fresh(): EventStream {
  return track(new EventStream({ keepAliveInterval: 60_000 }));
}

async function overHttp(handle: (request: Request) => Promise<Response>): Promise<number> {
  const server: ServerType = serveHono({ fetch: handle, port: 0, hostname: '127.0.0.1' });
  if (!server.listening) await once(server, 'listening');
  defer(
    () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

const request = (path = '/', init: RequestInit = {}): Request =>
  new Request(`http://127.0.0.1${path}`, { ...init, headers: { accept: 'text/event-stream', ...(init.headers as Record<string, string>) } });

describe('called directly', () => {
  it('a refused Accept → a one-line 406 Response', async () => {
    const es = fresh();
    const res = await es.fetch(request('/', { headers: { accept: 'application/json' } }), 'a');
    expect(res.status).toBe(406);
    expect(await res.text()).toMatch(/^[^\n]+\n$/);
  });

  it.each<[string, Record<string, unknown>, number, string[]]>([
    ['a number', { room: 42 }, 400, []],
    ['an object', { room: { toString: () => 'x' } }, 400, []],
    ['an array', { room: ['first', 'second'] }, 200, ['r-first']],
    ['null', { room: null }, 400, []],
    ['a NUL', { room: 'a\0b' }, 400, []],
  ])('params.room as %s → %i', async (_name, params, status, channels) => {
    const es = fresh();
    const controller = new AbortController();
    const res = await es.fetch(request('/', { signal: controller.signal }), 'r-{room}', params);
    expect(res.status).toBe(status);
    if (status === 200) {
      expect(Object.keys(es.stats().channels)).toEqual(channels);
      controller.abort();
      await res.body?.cancel().catch(() => undefined);
    } else {
      expect(await res.text()).toMatch(/^[^\n]+\n$/);
    }
    await noneLeft(es);
  });

  it('a request already aborted → nothing stays subscribed', async () => {
    const es = fresh();
    const controller = new AbortController();
    controller.abort();
    const res = await es.fetch(request('/', { signal: controller.signal }), 'a');
    expect(res.status).toBe(200);
    await noneLeft(es);
  });

  it('200 streams whose bodies are cancelled, or whose requests are aborted → nothing left', async () => {
    const es = fresh();
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const controller = new AbortController();
        const res = await es.fetch(request('/', { signal: controller.signal }), ['a', 'b']);
        if (i % 2 === 0) await res.body!.cancel();
        else controller.abort();
      }),
    );
    await noneLeft(es);
  });
});

describe('through a real node:http server', () => {
  it('100 clients dropped at every moment → nothing left, and the server still serves', async () => {
    const es = fresh();
    const port = await overHttp((req) => es.fetch(req, 'a'));
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const client = await RawClient.get(port, { path: '/', retain: false });
        if (i % 2 === 0) await client.waitForEvents(1, WAIT_MS);
        client.destroy();
      }),
    );
    await noneLeft(es);
    const client = await RawClient.get(port, { path: '/' });
    await client.waitForEvents(1, WAIT_MS);
    await es.publishEvent('a', { event: 'm', data: 'alive' });
    await client.waitForEvents(2, WAIT_MS);
    client.destroy();
    await noneLeft(es);
  });
});
