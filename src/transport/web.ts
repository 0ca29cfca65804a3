import type { ChannelSpec } from '../request/channels.js';
import type { StreamContext } from '../request/context.js';
import { decideStream, reportHold } from '../request/decide.js';
import { viewOfFetchRequest } from '../request/RequestView.js';
import { subscribe } from '../request/subscribe.js';
import type { FrameworkRequest } from '../types.js';
import { refusalResponse } from './refusal.js';
import { WebStreamSink } from './webStreamSink.js';

/**
 * Serves a WHATWG `Request` as an event stream: a `Response` whose body is a
 * `ReadableStream`. For Next.js route handlers, Hono, and other fetch-style runtimes.
 * The stream ends when the client disconnects (`request.signal`) or the reader cancels.
 */
export async function serveFetch(
  ctx: StreamContext,
  request: Request,
  spec: ChannelSpec | string,
  params?: Record<string, unknown>,
  subject: FrameworkRequest = request,
): Promise<Response> {
  const decision = await decideStream(ctx, viewOfFetchRequest(request, params, subject), spec);
  if (decision.kind === 'refuse') return refusalResponse(decision);
  if (decision.kind === 'head') return new Response(null, { status: 200, headers: decision.headers });
  if (decision.kind === 'hold') {
    reportHold(ctx, subject, decision.channels);
    return new Response(decision.body, { status: 200, headers: decision.headers });
  }
  const sink = new WebStreamSink(ctx.subscriberHooks.maxBufferedBytes);
  sink.write(ctx.opening);
  const subscription = subscribe(ctx, sink, subject, decision.channels, decision.lastEventId, 'fetch');
  sink.onClose(subscription.release);
  // The client left: end quietly. Erroring the stream here would make the server running this
  // handler report an error for every ordinary disconnect (@hono/node-server logs each one).
  const signal = request.signal;
  if (signal.aborted) sink.end();
  else {
    const onAbort = (): void => sink.end();
    signal.addEventListener('abort', onAbort, { once: true });
    sink.onFinish(() => signal.removeEventListener('abort', onAbort));
  }
  await subscription.ready;
  return new Response(sink.readable, { status: 200, headers: decision.headers });
}
