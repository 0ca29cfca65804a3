import { ServerResponse } from 'node:http';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import type { NextFunction, StreamRequest, StreamResponse } from '../types.js';
import { publishHandlerOptionsOf } from '../config/publishHandler.js';
import {
  handlePublish,
  type BatchPublisher,
  type PublishReply,
  type PublishRequest,
  type PublishSettings,
} from './httpPublish.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from './IdempotencyStore.js';

/** Options of `createPublishHandler`. */
export interface PublishHandlerOptions {
  /** Checks the `Authorization: Bearer` token; its `gripstream.publish` claim names the channels it may publish to. */
  verifier: TokenVerifier;
  /** Largest body accepted, in bytes (default 1 MiB); a longer one gets 413 and nothing is published. */
  maxBodyBytes?: number;
  /** Most events in one request (default 1000). */
  maxEvents?: number;
  /**
   * Retries: an event with an `id` already published to its channel within `windowMs`
   * (default 5 minutes) is not published again. `store` defaults to this process's memory;
   * give a shared one when several instances take publishes. `false` turns it off.
   */
  idempotency?:
    | {
        /** How long a published `(channel, id)` is remembered, in ms (default 5 minutes). */
        windowMs?: number;
        /** Where claims are kept (default: this process's memory; `RedisIdempotencyStore` for several instances). */
        store?: IdempotencyStore;
      }
    | false;
}

/**
 * A mounted publish endpoint: connect-style `(req, res, next?)` for `node:http`, Express and
 * connect; `.fetch(request)` for fetch runtimes (Next.js route handlers, Hono, edge).
 */
export interface PublishHandler {
  (req: StreamRequest, res: StreamResponse, next?: NextFunction): Promise<void>;
  /** The same endpoint for a WHATWG `Request`. */
  fetch(request: Request): Promise<Response>;
}

/**
 * `createPublishHandler(publisher, options)`'s arguments, checked and defaulted (config/), with
 * the handler's own parts built: retries are recognised in this process's memory unless a
 * store is given or `idempotency: false`.
 */
export function resolvePublishHandlerOptions(publisher: BatchPublisher, options: unknown): PublishSettings {
  const settings = publishHandlerOptionsOf(publisher, options);
  const { idempotency } = settings;
  return {
    ...settings,
    idempotency: idempotency && { store: idempotency.store ?? new MemoryIdempotencyStore(), windowMs: idempotency.windowMs },
  };
}

/** Past this many unread bytes after a refusal, the connection is cut instead of drained. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;
/** A refused body still arriving this long after the answer: the connection is cut (a slow sender holds nothing for long). */
const MAX_DRAIN_MS = 10_000;

/**
 * An HTTP endpoint that publishes JSON events through `publisher` (an EventStream): one event
 * `{ channel, event, data?, id? }` or `{ events: [...] }`. All or nothing: every check (token,
 * size, JSON, channel names, event fields, the token's publish channels) passes before the
 * first event is published. Answers one line of JSON (docs/auth.md).
 */
export function createPublishHandler(publisher: BatchPublisher, options: PublishHandlerOptions): PublishHandler {
  const settings = resolvePublishHandlerOptions(publisher, options);
  const handler = async (req: StreamRequest, res: StreamResponse, next?: NextFunction): Promise<void> => {
    let answer: PublishReply;
    try {
      answer = await handlePublish(settings, nodeRequest(req));
    } catch (err) {
      if (next !== undefined) return next(err);
      answer = { status: 500, headers: { 'Content-Type': 'application/json' }, body: '{"code":"ERR_INTERNAL","message":"internal error"}' };
    }
    writeReply(req, res, answer);
  };
  return Object.assign(handler, {
    async fetch(request: Request): Promise<Response> {
      const answer = await handlePublish(settings, fetchRequest(request));
      return new Response(`${answer.body}\n`, { status: answer.status, headers: answer.headers });
    },
  });
}

function nodeRequest(req: StreamRequest): PublishRequest {
  return {
    method: req.method,
    header(name) {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    readBody: (limit) => readNodeBody(req, limit),
  };
}

/**
 * The body, or undefined past `limit`. A body a framework already parsed (express.json()) is
 * taken as it is: its own limit applied then.
 */
function readNodeBody(req: StreamRequest, limit: number): Promise<Uint8Array | undefined> {
  const parsed = (req as { body?: unknown }).body;
  if (req.readableEnded) {
    // Read by someone else and not left parsed: nothing to read (it answers as an empty body).
    if (parsed === undefined) return Promise.resolve(new Uint8Array(0));
    return Promise.resolve(parsed instanceof Uint8Array ? parsed : new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array): void => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function writeReply(req: StreamRequest, res: StreamResponse, answer: PublishReply): void {
  const body = `${answer.body}\n`;
  // Refused before its body was read (no token, too large, wrong type): the connection is not
  // reused, so what is left of the body is only drained, never taken for the next request.
  const unread = !req.readableEnded;
  const headers = unread && req.httpVersionMajor === 1 ? { ...answer.headers, Connection: 'close' } : answer.headers;
  res.writeHead(answer.status, { ...headers, 'Content-Length': String(new TextEncoder().encode(body).byteLength) });
  if (!unread || !(res instanceof ServerResponse)) {
    // HTTP/2 ends only this stream, not the connection: the rest of the body is simply dropped.
    res.end(body);
    if (unread) drain(req, () => undefined);
    return;
  }
  // The answer leaves now, but the response ends (and Node closes the connection) only once the
  // rest of the body is in: closed earlier, the bytes the client is still sending would meet a
  // closed socket, and a client that sends everything before it reads would see a reset.
  res.write(body);
  drain(req, () => res.end());
}

/**
 * After a refusal the rest of the body is read and dropped, so a client that sends it all
 * before reading (Python's urllib, most HTTP/1.1 clients) gets the answer instead of a reset
 * connection; `done` runs once it has all arrived. Past MAX_DRAIN_BYTES, or MAX_DRAIN_MS, the
 * connection is cut: a refused body is not read forever (Node on its own would read all of it).
 */
function drain(req: StreamRequest, done: () => void): void {
  let dropped = 0;
  const cut = (): void => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, MAX_DRAIN_MS);
  timer.unref();
  req.on('data', (chunk: Uint8Array) => {
    dropped += chunk.byteLength;
    if (dropped > MAX_DRAIN_BYTES) cut();
  });
  req.once('end', () => {
    clearTimeout(timer);
    done();
  });
  req.once('close', () => clearTimeout(timer));
  req.on('error', () => undefined);
  req.resume();
}

function fetchRequest(request: Request): PublishRequest {
  return {
    method: request.method,
    header: (name) => request.headers.get(name) ?? undefined,
    readBody: (limit) => readFetchBody(request, limit),
  };
}

async function readFetchBody(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks, size);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}
