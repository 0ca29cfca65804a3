import { toHonoHandler, type HonoContextLike, type HonoHandler } from '../adapters/hono.js';
import type { AccessGate } from '../request/gate.js';
import { Incidents } from '../telemetry/incidents.js';
import { resolveEdgeOptions } from '../config/edge.js';
import { GripTransport } from '../grip/GripTransport.js';
import { checkBatch } from '../publish/checkEvent.js';
import { normalizeChannel } from '../channelName.js';
import { toChannelSpec, type ChannelSpec } from '../request/channels.js';
import type { AuthorizeResult } from '../request/refusal.js';
import type { ConnectionInfo, RefusalInfo } from '../request/context.js';
import { decideStream, type DecideContext } from '../request/decide.js';
import { Metrics } from '../telemetry/Metrics.js';
import { viewOfFetchRequest } from '../request/RequestView.js';
import { encodeEvent } from '../sse/encode.js';
import { refusalResponse } from '../transport/refusal.js';
import type { ChannelList, EventMap, EventOf, FrameworkRequest, GripPublisherSpec, ServerSentEvent } from '../types.js';

/** Options of `EdgeEventStream`: the GRIP side of `EventStream`'s, and its request hooks. */
export interface EdgeEventStreamOptions {
  /** Decides whether the stream may open (as `EventStream`'s `authorize`): `true`, `false` (403) or `{ status, reason }`. */
  authorize?(req: FrameworkRequest, channels: readonly string[]): AuthorizeResult | Promise<AuthorizeResult>;
  /** The proxy was told to hold a stream. */
  onConnect?(info: ConnectionInfo): void;
  /** A stream request was refused; a throw from it is ignored. */
  onRefused?(info: RefusalInfo): void;
  /** The GRIP proxy (Pushpin, Fastly Fanout) that holds the streams and receives publishes: required at the edge. */
  grip: GripPublisherSpec;
  /** Prefix of GRIP channel names (default `'events-'`); the same as the Node instances publishing to these channels. */
  gripPrefix?: string;
  /** Milliseconds a proxy has to accept a publish before it rejects with `GripPublishError` (default 10000). */
  gripTimeout?: number;
  /** Milliseconds between the keep-alive comments the proxy sends on idle streams (default 20000). */
  keepAliveInterval?: number;
  /** Reconnection delay, in ms, sent to clients as the SSE `retry` field at stream start. */
  retry?: number;
}

/**
 * Server-Sent Events for web-standard runtimes (Next.js's Edge runtime, workers, Deno, Bun),
 * where no process outlives a request: a GRIP proxy holds every stream, and this class only
 * answers the proxy's request with hold instructions and publishes to the proxy. It reaches no
 * `node:` module and no `Buffer`. There is no in-process bus here (a request that did not come
 * through the proxy is refused with 503) and no history or resume (nothing survives between
 * invocations); publish from Node with `EventStream` and the same `grip` and `gripPrefix`, or
 * from here with `publishEvent`.
 */
export class EdgeEventStream<E extends object = EventMap> {
  private readonly context: DecideContext;
  private readonly grip: GripTransport;

  constructor(options: EdgeEventStreamOptions) {
    const settings = resolveEdgeOptions(options);
    this.grip = new GripTransport(settings.publisher, settings.gripPrefix, false, settings.gripTimeout);
    this.context = {
      history: undefined,
      grip: this.grip,
      keepAliveSeconds: Math.max(1, Math.round(settings.keepAliveInterval / 1000)),
      // No history at the edge: a hold carries no replay.
      holdReplayBytes: 0,
      retry: settings.retry,
      hooks: settings.hooks,
      gates: [] as AccessGate[],
      tokens: undefined,
      // No history at the edge, so no history read can fail: nothing to report.
      incidents: new Incidents(undefined, undefined),
      // Holds answered and resumes are counted as in Node; no exporter reads them at the edge
      // (no scrape handler, no OpenTelemetry there), so each count is one add and nothing more.
      metrics: new Metrics(false),
      isDraining: () => false,
      isClosed: () => false,
    };
  }

  /**
   * Answers a WHATWG `Request` for `channels`: through the proxy, a hold on them (the proxy
   * keeps the client's connection and sends it what is published); otherwise a refusal.
   * `params` fill `{name}` tokens; otherwise they come from the URL's query.
   */
  fetch(
    request: Request,
    channels: ChannelList | ((request: Request) => ChannelList | Promise<ChannelList>),
    params?: Record<string, unknown>,
  ): Promise<Response> {
    const spec = typeof channels === 'string' ? [channels] : (channels as ChannelSpec);
    return this.serve(request, spec, params, request);
  }

  /** A Hono handler for the channels; channel functions and hooks receive Hono's context. */
  hono(...channels: string[]): HonoHandler;
  hono(channels: readonly string[]): HonoHandler;
  hono<Ctx extends HonoContextLike = HonoContextLike>(builder: (c: Ctx) => ChannelList | Promise<ChannelList>): HonoHandler<Ctx>;
  hono(...args: unknown[]): HonoHandler {
    const spec = toChannelSpec(args);
    return toHonoHandler((request, params, subject) => this.serve(request, spec, params, subject));
  }

  /** Publishes one event to a channel through the proxy; resolves when every proxy accepted it. */
  publishEvent(channel: string, event: EventOf<E>): Promise<void> {
    return this.publishEvents(channel, [event]);
  }

  /** Publishes several events in order, as one request per proxy; all or nothing per proxy. */
  async publishEvents(channel: string, events: readonly EventOf<E>[]): Promise<void> {
    const name = normalizeChannel(channel);
    const checked = checkBatch(events as readonly ServerSentEvent[]);
    if (checked.length === 0) return;
    await this.grip.publish(name, checked.map((event) => ({ content: encodeEvent(event), id: event.id })));
  }

  private async serve(request: Request, spec: ChannelSpec, params: Record<string, unknown> | undefined, subject: FrameworkRequest): Promise<Response> {
    const decision = await decideStream(this.context, viewOfFetchRequest(request, params, subject), spec);
    switch (decision.kind) {
      case 'refuse':
        return refusalResponse(decision);
      case 'head':
        return new Response(null, { status: 200, headers: decision.headers });
      case 'hold':
        this.context.hooks.onConnect?.({ req: subject, channels: decision.channels, proxied: true });
        return new Response(decision.body, { status: 200, headers: decision.headers });
      case 'stream':
        // No bus here: a stream served by this invocation would hear nothing published elsewhere.
        return refusalResponse({ status: 503, reason: 'this event stream is served through its GRIP proxy: connect through the proxy' });
    }
  }
}

