import { once } from 'node:events';
import http, { type RequestListener } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { defer } from './cleanup.js';
import { realClearTimeout, realSetTimeout } from './wait.js';

export interface Started {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Anything with Express's `listen(port, host)`: express 5 and express 4 apps. */
export interface Listenable {
  listen(port: number, host: string): http.Server;
}

/** `app.listen(0, '127.0.0.1')`; registered for clean-up. */
export async function startApp(app: Listenable): Promise<Started> {
  const server = app.listen(0, '127.0.0.1');
  return started(server);
}

/** A plain `node:http` server (Next.js-style handlers, no framework); registered for clean-up. */
export async function startHttp(handler: RequestListener): Promise<Started> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  return started(server);
}

async function started(server: http.Server): Promise<Started> {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = closeOnce(server);
  defer(close);
  return { url: `http://127.0.0.1:${port}`, port, server, close };
}

/**
 * A close for `server` that may be called any number of times: the first cuts its open
 * connections (streams would hold close() forever), closes it and runs `alsoClose`; every
 * call answers the same promise, settled once the server has closed.
 */
export function closeOnce(server: http.Server, alsoClose?: () => void): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => {
    closed ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      alsoClose?.();
    });
    return closed;
  };
}

export interface SimpleReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A GET for answers that end (refusals): resolves with the whole body. For streams use
 * the raw or EventSource clients.
 */
export function getOnce(url: string, headers: Record<string, string> = {}, ms = 5000): Promise<SimpleReply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        realClearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    const timer = realSetTimeout(() => {
      req.destroy();
      reject(new Error(`GET ${url} did not complete within ${ms}ms`));
    }, ms);
    req.on('error', (err) => {
      realClearTimeout(timer);
      reject(err);
    });
  });
}

/** A port on 127.0.0.1 where nothing listens: bound, then closed. */
export async function deadPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
