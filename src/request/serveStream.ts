import { catchRejection, ignoreRejection } from '../appCallback.js';
import type { FrameworkRequest, StreamRequest, StreamResponse } from '../types.js';
import type { StreamContext } from './context.js';
import { type ChannelSpec } from './channels.js';
import { decideStream } from './decide.js';
import { EVENT_STREAM_HEADERS, refuse } from './reply.js';
import { viewOfNodeRequest } from './RequestView.js';
import { startResponseStream } from './responseSink.js';
import { subscribe } from './subscribe.js';

/** Serves one `node:http` request (Express, Next.js pages router, plain http) as an event stream. */
export async function serveStream(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  spec: ChannelSpec | string,
  subject: FrameworkRequest = req,
): Promise<void> {
  const decision = await decideStream(ctx, viewOfNodeRequest(req, subject), spec);
  if (decision.kind === 'refuse') return refuse(res, decision.status, decision.reason, decision.headers, decision.contentType);
  if (decision.kind === 'head') {
    res.writeHead(200, decision.headers);
    res.end();
    return;
  }
  if (decision.kind === 'hold') {
    res.writeHead(200, decision.headers);
    res.end(decision.body);
    const { onConnect } = ctx.hooks;
    // A rejection is the app's to handle; unhandled, it would end the process.
    if (onConnect !== undefined) catchRejection(onConnect({ req: subject, channels: decision.channels, proxied: true }), ignoreRejection);
    return;
  }
  // The client may have left while authorize or the signature check was awaited.
  if (res.destroyed || req.socket.destroyed) return;
  if (queuedBehindAnotherResponse(res)) {
    // HTTP/1.1 pipelining: this response can only go out once the one before it on the
    // connection has ended, and a stream never does. Streamed, it would be a subscriber that
    // can never be written to, nor ever be told its socket closed. Node sends the refusal
    // once the connection is free (or never, if it closes first).
    return refuse(res, 400, 'an event stream needs its own connection, not one pipelined behind another response');
  }
  const sink = startResponseStream(res, EVENT_STREAM_HEADERS, ctx.opening, req.method);
  // Next.js may never emit the request's 'close'; the response's is reliable everywhere.
  const transport = req.httpVersionMajor === 2 ? 'http2' : 'http1';
  const subscription = subscribe(ctx, sink, subject, decision.channels, decision.lastEventId, transport);
  // `on`, not `once`: `closed` runs its body once anyway, and `once` would hold a wrapper
  // and its state per connection for as long as the stream is open.
  res.on('close', subscription.closed);
  await subscription.ready;
}

/** Node gives a pipelined request's response its socket only when the one before it ends. */
function queuedBehindAnotherResponse(res: StreamResponse): boolean {
  return res.socket === null && !res.headersSent;
}
