import type { ChannelSpec } from '../request/channels.js';
import type { StreamContext } from '../request/context.js';
import { decideStreamNow, reportHold, type StreamDecision } from '../request/decide.js';
import { viewOfNodeRequest } from '../request/RequestView.js';
import { subscribe } from '../request/subscribe.js';
import type { FrameworkRequest, StreamRequest, StreamResponse } from '../types.js';
import { refuse } from './refusal.js';
import { startResponseStream } from './responseSink.js';

const SERVED: Promise<void> = Promise.resolve();

/**
 * Serves one `node:http` request (Express, Next.js pages router, plain http) as an event stream.
 * A stream that needs nothing waited for (see `decideStreamNow`) is opened before this returns.
 */
export function serveStream(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  spec: ChannelSpec | string,
  subject: FrameworkRequest = req,
): Promise<void> {
  // A request pipelined behind another response (which has the socket) is answered once Node
  // has parsed the whole read it came in, as when every decision was awaited: answers queued
  // during the parse count against Node's flood limit, which then stops reading the socket,
  // and the stream ahead would no longer hear its client leave.
  if (res.socket === null) return SERVED.then(() => serveNow(ctx, req, res, spec, subject));
  return serveNow(ctx, req, res, spec, subject);
}

function serveNow(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  spec: ChannelSpec | string,
  subject: FrameworkRequest,
): Promise<void> {
  try {
    const decided = decideStreamNow(ctx, viewOfNodeRequest(req, subject), spec);
    if (decided instanceof Promise) return decided.then((decision) => carryOut(ctx, req, res, subject, decision));
    return carryOut(ctx, req, res, subject, decided);
  } catch (err) {
    // Whatever went wrong, the caller hears it as a rejection, never as a throw.
    return Promise.reject(err);
  }
}

/** Answers the request as decided; resolves once a stream's replay has started. */
function carryOut(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  subject: FrameworkRequest,
  decision: StreamDecision,
): Promise<void> {
  if (decision.kind === 'refuse') {
    refuse(res, decision);
    return SERVED;
  }
  if (decision.kind === 'head') {
    res.writeHead(200, decision.headers);
    res.end();
    return SERVED;
  }
  if (decision.kind === 'hold') {
    res.writeHead(200, decision.headers);
    res.end(decision.body);
    reportHold(ctx, subject, decision.channels);
    return SERVED;
  }
  // The client may have left while authorize or the signature check was awaited.
  if (res.destroyed || req.socket.destroyed) return SERVED;
  if (queuedBehindAnotherResponse(res)) {
    // HTTP/1.1 pipelining: this response can only go out once the one before it on the
    // connection has ended, and a stream never does. Streamed, it would be a subscriber that
    // can never be written to, nor ever be told its socket closed. Node sends the refusal
    // once the connection is free (or never, if it closes first).
    refuse(res, { status: 400, reason: 'an event stream needs its own connection, not one pipelined behind another response' });
    return SERVED;
  }
  const sink = startResponseStream(res, decision.headers, ctx.opening, req.method);
  // Next.js may never emit the request's 'close'; the response's is reliable everywhere.
  const transport = req.httpVersionMajor === 2 ? 'http2' : 'http1';
  const subscription = subscribe(ctx, sink, subject, decision.channels, decision.lastEventId, transport);
  // `on`, not `once`: `release` runs its body once anyway, and `once` would hold a wrapper
  // and its state per connection for as long as the stream is open.
  res.on('close', subscription.release);
  return subscription.ready;
}

/** Node gives a pipelined request's response its socket only when the one before it ends. */
function queuedBehindAnotherResponse(res: StreamResponse): boolean {
  return res.socket === null && !res.headersSent;
}
