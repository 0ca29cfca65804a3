import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, StreamRefusedError, type EventStreamOptions, type RefusalInfo, type StreamRequest } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { getOnce, startHttp } from '../support/server.js';

// Refusals with a reason, end to end: what `authorize` (or a channel function) says goes out
// as the status, the one-line body and a challenge on a 401, and to `onRefused`; on the node
// transport (a real node:http server) and the fetch transport alike.

afterEach(runCleanups);

const SSE = { accept: 'text/event-stream' };

interface Served {
  eventStream: EventStream;
  refusals: RefusalInfo[];
  /** GETs `/<channels, comma-separated>` on a node server, and the same as a fetch Request. */
  node(path: string, headers?: Record<string, string>): ReturnType<typeof getOnce>;
  fetch(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: string }>;
}

async function serve(options: EventStreamOptions, builder?: (req: StreamRequest | Request) => string[]): Promise<Served> {
  const refusals: RefusalInfo[] = [];
  const eventStream = track(new EventStream({ ...options, onRefused: (info) => refusals.push(info) }));
  const channelsOf = builder ?? ((req: StreamRequest | Request) => new URL(req.url!, 'http://x').pathname.slice(1).split(','));
  const handler = eventStream(channelsOf);
  const server = await startHttp((req, res) => void handler(req, res));
  return {
    eventStream,
    refusals,
    node: (path, headers = SSE) => getOnce(server.url + path, headers),
    async fetch(path, headers = SSE) {
      const res = await eventStream.fetch(new Request(`http://x${path}`, { headers }), channelsOf);
      return { status: res.status, headers: res.headers, body: await res.text() };
    },
  };
}

describe('authorize answering a refusal', () => {
  it('401 with its reason as the body, a Bearer challenge, and onRefused told (node and fetch)', async () => {
    const s = await serve({
      authorize: (req) => {
        const auth = req instanceof Request ? req.headers.get('authorization') : (req as StreamRequest).headers.authorization;
        return auth === 'Bearer good' ? true : { status: 401, reason: 'session expired: log in again' };
      },
    });
    const node = await s.node('/inbox-7');
    expect(node.status).toBe(401);
    expect(node.body).toBe('session expired: log in again\n');
    expect(node.headers['www-authenticate']).toBe('Bearer');
    expect(node.headers['content-type']).toBe('text/plain; charset=utf-8');
    const web = await s.fetch('/inbox-7');
    expect(web.status).toBe(401);
    expect(web.body).toBe('session expired: log in again\n');
    expect(web.headers.get('www-authenticate')).toBe('Bearer');
    expect(s.refusals.map(({ status, reason, channels }) => ({ status, reason, channels }))).toEqual([
      { status: 401, reason: 'session expired: log in again', channels: ['inbox-7'] },
      { status: 401, reason: 'session expired: log in again', channels: ['inbox-7'] },
    ]);
    // The hook gets the request the route handled.
    expect(s.refusals[1]!.req).toBeInstanceOf(Request);
    const open = new AbortController();
    const ok = await s.eventStream.fetch(
      new Request('http://x/inbox-7', { headers: { ...SSE, authorization: 'Bearer good' }, signal: open.signal }),
      'inbox-7',
    );
    expect(ok.status).toBe(200);
    open.abort();
    expect(s.refusals).toHaveLength(2);
  });

  it('403 with its reason; a challenge of its own on a 401 is kept', async () => {
    const s = await serve({
      authorize: (_req, channels) =>
        channels.includes('room-2')
          ? { status: 403, reason: 'you are not a member of room-2' }
          : { status: 401, reason: 'token expired', wwwAuthenticate: 'Bearer error="invalid_token", error_description="expired"' },
    });
    const forbidden = await s.node('/room-2');
    expect([forbidden.status, forbidden.body, forbidden.headers['www-authenticate']]).toEqual([403, 'you are not a member of room-2\n', undefined]);
    const expired = await s.node('/room-1');
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="expired"');
  });

  it('false keeps the bare default, which names no channel (several asked for, one refused)', async () => {
    const s = await serve({ authorize: (_req, channels) => !channels.includes('admin-audit') });
    for (const reply of [await s.node('/news,admin-audit,user-9'), await s.fetch('/news,admin-audit,user-9')]) {
      expect(reply.status).toBe(403);
      expect(reply.body).toBe('not authorized for these channels\n');
    }
  });

  it('a reason with line breaks goes out on one line, cut to a bounded length', async () => {
    const s = await serve({ authorize: () => ({ status: 403, reason: `first\r\nSet-Cookie: x=1\n${'y'.repeat(10_000)}` }) });
    const reply = await s.node('/a');
    expect(reply.status).toBe(403);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.body.split('\n')).toHaveLength(2); // one line, then the final newline
    expect(reply.body.startsWith('first Set-Cookie: x=1 yyy')).toBe(true);
    expect(reply.body.length).toBeLessThanOrEqual(201);
  });

  it('a malformed answer is the app\'s bug: 500, never a stream, and onRefused not told', async () => {
    const s = await serve({ authorize: () => ({ status: 302, reason: 'elsewhere' }) as never });
    const node = await s.node('/a');
    expect(node.status).toBe(500);
    await expect(s.fetch('/a')).rejects.toThrow(/must return true, false, or \{ status: 401 \| 403/);
    expect(s.refusals).toEqual([]);
  });

  it('undefined (a forgotten return) refuses: 500 on the node route, never an open stream', async () => {
    const s = await serve({ authorize: (() => undefined) as never });
    expect((await s.node('/a')).status).toBe(500);
    expect(s.eventStream.stats().connections).toBe(0);
  });

  it('a StreamRefusedError thrown by authorize is answered like a returned refusal', async () => {
    const s = await serve({
      authorize: async () => {
        throw new StreamRefusedError(401, 'no session cookie');
      },
    });
    const reply = await s.node('/a');
    expect([reply.status, reply.body, reply.headers['www-authenticate']]).toEqual([401, 'no session cookie\n', 'Bearer']);
  });
});

describe('a channel function throwing StreamRefusedError', () => {
  it('is answered with its status and reason; onRefused gets no channels (none were chosen)', async () => {
    const s = await serve({}, (req) => {
      const user = req instanceof Request ? req.headers.get('x-user') : (req as StreamRequest).headers['x-user'];
      if (typeof user !== 'string') throw new StreamRefusedError(401, 'log in to listen to your inbox');
      return [`inbox-${user}`];
    });
    const node = await s.node('/');
    expect([node.status, node.body]).toEqual([401, 'log in to listen to your inbox\n']);
    const web = await s.fetch('/');
    expect([web.status, web.body]).toEqual([401, 'log in to listen to your inbox\n']);
    expect(s.refusals.map((r) => [r.status, r.channels])).toEqual([
      [401, undefined],
      [401, undefined],
    ]);
  });
});

describe('onRefused', () => {
  it('hears every refusal of a stream request (400, 405, 406, 403) and a throw from it changes nothing', async () => {
    const statuses: number[] = [];
    const eventStream = track(
      new EventStream({
        authorize: () => false,
        onRefused(info) {
          statuses.push(info.status);
          throw new Error('a broken logger');
        },
      }),
    );
    const handler = eventStream('{id}');
    const server = await startHttp((req, res) => void handler(req, res));
    expect((await getOnce(`${server.url}/`, SSE)).status).toBe(400); // no {id}
    expect((await getOnce(`${server.url}/?id=a`, { accept: 'application/json' })).status).toBe(406);
    expect((await getOnce(`${server.url}/?id=a`, SSE)).status).toBe(403);
    expect(statuses).toEqual([400, 406, 403]);
  });
});
