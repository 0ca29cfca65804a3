/**
 * A round-robin HTTP load balancer on loopback, as nginx does it with
 * `proxy_next_upstream error http_503`: a request whose upstream refuses with 503 (or cannot be
 * reached) before anything was sent is tried on the next upstream; responses are streamed
 * through unbuffered. Enough to show what a draining instance's 503 does behind a real balancer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { defer } from './cleanup.js';
import { closeOnce } from './server.js';

export interface Balancer {
  port: number;
  url: string;
  /** Requests moved to another upstream after a 503, per upstream port. */
  movedOn: Map<number, number>;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

export async function startBalancer(upstreams: readonly number[]): Promise<Balancer> {
  // No keep-alive upstream: each stream has its own connection, closed when it ends.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const movedOn = new Map<number, number>();
  let next = 0;
  const server = http.createServer((req, res) => {
    const first = next++ % upstreams.length;
    const attempt = (tried: number): void => {
      const port = upstreams[(first + tried) % upstreams.length]!;
      const headers = { ...req.headers };
      for (const name of HOP_BY_HOP) delete headers[name];
      const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent });
      const canRetry = tried + 1 < upstreams.length;
      upstream.on('response', (answer) => {
        if (answer.statusCode === 503 && canRetry) {
          movedOn.set(port, (movedOn.get(port) ?? 0) + 1);
          answer.resume();
          return attempt(tried + 1);
        }
        const out: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        res.writeHead(answer.statusCode ?? 502, out);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      });
      upstream.on('error', () => {
        if (res.headersSent) return void res.destroy();
        if (canRetry) return attempt(tried + 1);
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('no upstream answered\n');
      });
      res.on('close', () => upstream.destroy());
      upstream.end();
    };
    attempt(0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = closeOnce(server, () => agent.destroy());
  defer(close);
  return { port, url: `http://127.0.0.1:${port}`, movedOn, close };
}
