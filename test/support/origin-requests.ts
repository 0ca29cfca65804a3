/**
 * Raw requests to an EventStream on a plain node:http server, signed the way a GRIP proxy signs
 * them, answered by a stand-in proxy publish endpoint. What a test makes here is closed by
 * `runRequestCleanups`, which the test file calls from afterEach.
 */
import type { RequestListener } from 'node:http';
import { Auth } from '@fanoutio/grip';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { dechunk, listen, rawGet, rawRequest, type TestServer } from './resume-helpers.js';

/** Clean-up steps, run last-in first-out by runRequestCleanups(). */
export const cleanups: Array<() => unknown> = [];

export async function runRequestCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** A new EventStream, closed after the test. */
export function track(options?: EventStreamOptions): EventStream {
  const es = new EventStream(options);
  cleanups.push(() => es.close());
  return es;
}

/** A plain node:http server on 127.0.0.1, closed after the test. */
export async function serve(handler: RequestListener): Promise<TestServer> {
  const srv = await listen(handler);
  cleanups.push(() => srv.close());
  return srv;
}

/** A stand-in GRIP proxy's publish endpoint: accepts every publish. */
export async function acceptingProxy(): Promise<string> {
  const srv = await serve((req, res) => {
    req.resume();
    req.on('end', () => res.end('Published\n'));
  });
  return srv.url;
}

/** The Grip-Sig key and issuer the stand-in proxy signs with. */
export const KEY = 'trust-key';
export const ISS = 'pushpin';

/** A Grip-Sig token as the proxy sends it, signed with `key`. */
export async function gripSig(key = KEY): Promise<string> {
  const header = await new Auth.Jwt({ iss: ISS }, new TextEncoder().encode(key)).buildHeader();
  return header.replace(/^Bearer /, '');
}

/** A one-shot request on its own connection; resolves with the whole (dechunked) answer. */
export async function oneShot(port: number, path: string, headers: Record<string, string | Buffer> = {}, method = 'GET') {
  const request = Buffer.from(rawGet(path, { Connection: 'close', ...headers }).toString('latin1').replace(/^GET /, `${method} `), 'latin1');
  const reply = await rawRequest(port, request, { ms: 5000 });
  const body = /transfer-encoding: chunked/i.test(reply.head) ? dechunk(Buffer.from(reply.body, 'utf8')).toString('utf8') : reply.body;
  return { ...reply, body };
}

/** The value of header `name` in a raw response head, if present. */
export function header(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
