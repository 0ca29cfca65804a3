/**
 * The server of the Bun/Deno smoke suite, run BY those runtimes (not by vitest):
 *   bun test/runtimes/smoke-server.ts <fetch|node>
 *   deno run -A --sloppy-imports test/runtimes/smoke-server.ts <fetch|node>
 * `fetch` serves with the runtime's own server (Bun.serve / Deno.serve) and eventStream.fetch();
 * `node` with node:http and the connect-style route handler. Prints `READY <port>`.
 * GRIPSTREAM_ENTRY=path/to/index.js runs a built copy instead of the sources.
 *   GET  /events?channel=NAME     the stream
 *   POST /publish?channel=NAME    publishes the body as a `message` event
 *   POST /flood?channel=NAME&n=N&size=BYTES  publishes up to N events, a macrotask apart, until a client is dropped
 *   GET  /stats                   eventStream.stats() as JSON
 */
import http from 'node:http';

// GRIPSTREAM_ENTRY: a built copy (dist/index.js) instead of the TypeScript sources.
const entry = process.env.GRIPSTREAM_ENTRY ?? '../../src/index.ts';
const { EventStream } = (await import(entry)) as typeof import('../../src/index.ts');

declare const Bun: { serve(options: { port: number; hostname: string; fetch(request: Request): Promise<Response> }): { port: number } } | undefined;
declare const Deno:
  | { serve(options: { port: number; hostname: string; onListen(addr: { port: number }): void }, handler: (request: Request) => Promise<Response>): unknown }
  | undefined;

const mode = (globalThis as { process?: { argv: string[] } }).process?.argv.at(-1) === 'node' ? 'node' : 'fetch';
const eventStream = new EventStream({ maxBufferedBytes: 64 * 1024 });
const stream = eventStream('{channel}');

/** Everything but the stream itself, the same for both modes. */
async function other(method: string, url: URL, body: () => Promise<string>): Promise<{ status: number; text: string }> {
  const channel = url.searchParams.get('channel') ?? '';
  if (method === 'GET' && url.pathname === '/stats') return { status: 200, text: JSON.stringify(eventStream.stats()) };
  if (method === 'POST' && url.pathname === '/publish') {
    await eventStream.publishEvent(channel, { event: 'message', data: await body() });
    return { status: 202, text: 'ok' };
  }
  if (method === 'POST' && url.pathname === '/flood') {
    const n = Number(url.searchParams.get('n') ?? 1000);
    const payload = 'p'.repeat(Number(url.searchParams.get('size') ?? 2000));
    const before = eventStream.stats().clientsDropped;
    let published = 0;
    while (published < n && eventStream.stats().clientsDropped === before) {
      await eventStream.publishEvent(channel, { event: 'message', data: payload });
      published++;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return { status: 200, text: JSON.stringify({ published, dropped: eventStream.stats().clientsDropped - before }) };
  }
  return { status: 404, text: 'not found' };
}

async function fetchHandler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === 'GET' && url.pathname === '/events') return eventStream.fetch(request, '{channel}');
  const { status, text } = await other(request.method, url, () => request.text());
  return new Response(text, { status });
}

function ready(port: number): void {
  console.log(`READY ${port} ${entry}`);
}

if (mode === 'node') {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/events') {
      void stream(req, res);
      return;
    }
    const body = async (): Promise<string> => {
      let text = '';
      for await (const chunk of req) text += String(chunk);
      return text;
    };
    other(req.method ?? 'GET', url, body).then(
      ({ status, text }) => res.writeHead(status).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
} else if (typeof Bun !== 'undefined') {
  ready(Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: fetchHandler }).port);
} else if (typeof Deno !== 'undefined') {
  Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => ready(port) }, fetchHandler);
} else {
  throw new Error('run this under Bun or Deno');
}
