import type { ChannelSpec } from '../request/channels.js';
import type { StreamContext } from '../request/context.js';
import { decideStream, reportHold } from '../request/decide.js';
import { viewOfNodeRequest } from '../request/RequestView.js';
import { subscribe } from '../request/subscribe.js';
import type { FrameworkRequest, StreamRequest, StreamResponse } from '../types.js';
import { refuse } from './refusal.js';
import { startResponseStream } from './responseSink.js';

/** Serves one `node:http` request (Express, Next.js pages router, plain http) as an event stream. */
export async function serveStream(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  spec: ChannelSpec | string,
  subject: FrameworkRequest = req,
): Promise<void> {
  const decision = await decideStream(ctx, viewOfNodeRequest(req, subject), spec);
  if (decision.kind === 'refuse') return refuse(res, decision);
  if (decision.kind === 'head') {
    res.writeHead(200, decision.headers);
    res.end();
    return;
  }
  if (decision.kind === 'hold') {
    res.writeHead(200, decision.headers);
    res.end(decision.body);
    reportHold(ctx, subject, decision.channels);
    return;
  }
  // The client may have left while authorize or the signature check was awaited.
  if (res.destroyed || req.socket.destroyed) return;
  if (queuedBehindAnotherResponse(res)) {
    // HTTP/1.1 pipelining: this response can only go out once the one before it on the
    // connection has ended, and a stream never does. Streamed, it would be a subscriber that
    // can never be written to, nor ever be told its socket closed. Node sends the refusal
    // once the connection is free (or never, if it closes first).
    return refuse(res, { status: 400, reason: 'an event stream needs its own connection, not one pipelined behind another response' });
  }
  const sink = startResponseStream(res, decision.headers, ctx.opening, req.method);
  // Next.js may never emit the request's 'close'; the response's is reliable everywhere.
  const transport = req.httpVersionMajor === 2 ? 'http2' : 'http1';
  const subscription = subscribe(ctx, sink, subject, decision.channels, decision.lastEventId, transport);
  // `on`, not `once`: `release` runs its body once anyway, and `once` would hold a wrapper
  // and its state per connection for as long as the stream is open.
  res.on('close', subscription.release);
  await subscription.ready;
}

/** Node gives a pipelined request's response its socket only when the one before it ends. */
function queuedBehindAnotherResponse(res: StreamResponse): boolean {
  return res.socket === null && !res.headersSent;
}
