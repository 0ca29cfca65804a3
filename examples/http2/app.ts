import http2 from 'node:http2';
import type { EventStream } from '../../src/index.js';
import type { KeyAndCert } from './selfSigned.js';

export interface Http2AppOptions {
  /** Also answer HTTP/1.1 clients on the same port (TLS, ALPN picks the protocol). */
  allowHTTP1?: boolean;
  /** Channels the page opens, one EventSource each (?n= on the page URL overrides it). */
  pageChannels?: number;
}

/**
 * The HTTP/2 example: `node:http2`'s compatibility API, no framework. Over HTTP/2 every
 * EventSource of a page shares one connection; over HTTP/1.1 a browser stops at six per origin.
 *
 *   GET  /                      a page with one EventSource per channel (?n=10)
 *   GET  /events?channel=NAME   the event stream of one channel (route handler, `{channel}` from the query)
 *   GET  /run/NAME              the same through `eventStream.run()`
 *   POST /publish?channel=NAME  publishes the request body as a `message` event
 */
export function createHttp2Server(
  eventStream: EventStream,
  tls: KeyAndCert,
  options: Http2AppOptions = {},
): http2.Http2SecureServer {
  const stream = eventStream('{channel}');
  const pageChannels = options.pageChannels ?? 10;
  const server = http2.createSecureServer({ ...tls, allowHTTP1: options.allowHTTP1 ?? false });
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const url = new URL(req.url, 'https://localhost');
    if (req.method === 'GET' && url.pathname === '/events') {
      void stream(req, res);
    } else if (req.method === 'GET' && url.pathname.startsWith('/run/')) {
      void eventStream.run(req, res, decodeURIComponent(url.pathname.slice('/run/'.length))).catch(() => res.destroy());
    } else if (req.method === 'POST' && url.pathname === '/publish') {
      void publish(eventStream, req, res, url.searchParams.get('channel') ?? '');
    } else if (req.method === 'GET' && url.pathname === '/') {
      const n = Math.min(50, Math.max(1, Number(url.searchParams.get('n') ?? pageChannels) || pageChannels));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(n));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });
  return server;
}

async function publish(
  eventStream: EventStream,
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  channel: string,
): Promise<void> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  try {
    await eventStream.publishEvent(channel, { event: 'message', data: { text } });
    res.writeHead(202, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('published\n');
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** One EventSource per channel `c0`…; `window.received[i]` holds channel i's messages. */
function page(n: number): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>gripstream over HTTP/2</title>
<h1>${n} event streams, one page</h1>
<ol id="streams"></ol>
<script>
  const list = document.getElementById('streams');
  window.received = [];
  window.sources = [];
  for (let i = 0; i < ${n}; i++) {
    const item = list.appendChild(document.createElement('li'));
    item.textContent = 'c' + i + ': connecting';
    window.received.push([]);
    const source = new EventSource('/events?channel=c' + i);
    source.addEventListener('stream-open', () => { item.textContent = 'c' + i + ': open'; });
    source.addEventListener('message', (e) => {
      window.received[i].push(JSON.parse(e.data).text);
      item.textContent = 'c' + i + ': ' + window.received[i].join(', ');
    });
    window.sources.push(source);
  }
</script>
`;
}
