import createDebug from 'debug';
import { toFastifyHandler, type FastifyHandler, type FastifyRequestLike } from './adapters/fastify.js';
import { serveFetch } from './transport/web.js';
import { toHonoHandler, type HonoContextLike, type HonoHandler } from './adapters/hono.js';
import { toKoaMiddleware, type KoaContextLike, type KoaMiddleware } from './adapters/koa.js';
import type { StreamTokenOptions } from './auth/subscribeGate.js';
import type { TokenVerifier } from './auth/TokenVerifier.js';
import { ChannelBus } from './bus/ChannelBus.js';
import { Frame } from './bus/Frame.js';
import { KeepAlive } from './bus/KeepAlive.js';
import type { Subscriber, SubscriberHooks } from './bus/Subscriber.js';
import { StallWatch } from './bus/StallWatch.js';
import { TickFlusher } from './bus/TickFlusher.js';
import { ClosedError, InvalidConfigError } from './errors.js';
import { resolveEventStreamOptions, type EventStreamSettings } from './config/eventStream.js';
import { GripTransport } from './grip/GripTransport.js';
import type { Engine } from './engine/Engine.js';
import type { Presence } from './engine/Presence.js';
import { engineFor } from './createEngine.js';
import { attachBackendMetrics, backendChecks, historyView } from './backendTelemetry.js';
import { RedisEngine } from './redis/RedisEngine.js';
import { dashboardHandler, type DashboardHandler, type DashboardOptions } from './ops/dashboard.js';
import { Metrics } from './telemetry/Metrics.js';
import { wireMetrics } from './ops/wireMetrics.js';
import { Registry, registerPrometheus, scrapeHandler, type MetricsHandler } from './ops/prometheus.js';
import type { ChannelPublisher } from './publish/ChannelPublisher.js';
import { PublisherCache } from './publish/PublisherCache.js';
import type { ChannelWritable } from './publish/ChannelWritable.js';
import { Dispatcher } from './publish/Dispatcher.js';
import { normalizeChannel } from './channelName.js';
import { toChannelSpec, type ChannelSpec } from './request/channels.js';
import type { RequestHooks, StreamContext } from './request/context.js';
import { openingText } from './request/decide.js';
import { serveStream } from './transport/node.js';
import { dependencyChecks } from './ops/checks.js';
import { Drain, drainWindowOf } from './ops/drain.js';
import { HealthMonitor, readyTimeoutOf, type HealthReport } from './ops/health.js';
import { DEFAULT_DRAIN_MS } from './config/defaults.js';
import { Incidents, type IncidentOptions } from './telemetry/incidents.js';
import { checkProbeKind, probeAnswer, probeResponse, writeProbe, type ProbeHandler, type ProbeKind } from './ops/probes.js';
import type {
  ChannelList,
  ChannelsBuilder,
  EventMap,
  EventOf,
  EventStreamConfig,
  EventStreamHandler,
  EventStreamStats,
  FrameworkRequest,
  NextFunction,
  StreamRequest,
  StreamResponse,
  SubjectHandler,
} from './types.js';

const debug = createDebug('gripstream');

/** Options of `new EventStream()`: {@link EventStreamConfig} plus the request hooks and subscription tokens. */
export interface EventStreamOptions extends EventStreamConfig, RequestHooks, IncidentOptions {
  /**
   * Every stream must bring a signed token granting its channels (docs/auth.md): from the
   * `gripstream_token` cookie, the `access_token` query parameter or `Authorization: Bearer`.
   * Checked after the route's channels and `authorize`; it never grants more than they allow.
   */
  tokens?: TokenVerifier | StreamTokenOptions;
}

/** Options of `eventStream.close()`. */
export interface CloseOptions {
  /**
   * Drain first (see `drain()`): `true` for the default window (10 s), or the window in ms.
   * Publishing keeps working until the drain ends; then everything closes.
   */
  drain?: boolean | number;
}

/** Options of `eventStream.ready()`. */
export interface ReadyOptions {
  /** Milliseconds to wait for every dependency to answer (default 5000). */
  timeout?: number;
}

interface EventStreamState {
  readonly bus: ChannelBus;
  readonly keepAlive: KeepAlive;
  readonly stallWatch: StallWatch;
  readonly dispatcher: Dispatcher;
  readonly context: StreamContext;
  readonly engine: Engine;
  readonly presence: Presence | undefined;
  readonly publishers: PublisherCache;
  /** The one place counts are kept: stats(), the scrape handler, OpenTelemetry and the operator page read it. */
  readonly metrics: Metrics;
  /** The registries this instance's metrics are registered in, with their scrape handlers. */
  readonly scrapes: Map<Registry, MetricsHandler>;
  /** Detaches exporters (OpenTelemetry callbacks, histogram listeners) at close(). */
  readonly detach: Array<() => void>;
  /** Enders of the operator page's open streams: close() ends them too. */
  readonly dashboards: Set<() => void>;
  readonly incidents: Incidents;
  readonly health: HealthMonitor;
  drain: Drain | undefined;
  closed: boolean;
}

const STATE = Symbol('gripstream.state');

/**
 * Calling an EventStream makes a route handler; see the class for everything else.
 * `eventStream('a')`, `eventStream('a', 'b')`, `eventStream(['a', 'b'])`, `eventStream(req => ...)`.
 */
// Same type parameters as the class: the two declarations merge into one type.
export interface EventStream<E extends object = EventMap> {
  (...channels: string[]): EventStreamHandler;
  (channels: readonly string[]): EventStreamHandler;
  <Req extends StreamRequest = StreamRequest>(builder: ChannelsBuilder<Req>): EventStreamHandler<Req>;
}

/**
 * Server-Sent Events endpoints over named channels. The instance is callable: calling it
 * returns connect-style middleware. Events reach this process's clients through an
 * in-process bus and, when `grip` is configured, the clients held by a GRIP proxy.
 *
 * `E` (optional) maps event names to their data types; publishing then checks both at
 * compile time: `new EventStream<{ message: { text: string } }>()`.
 */
// A class whose constructor returns a function: `new EventStream()` is callable, still passes
// `instanceof EventStream`, and its methods live on the prototype (nothing copied per instance).
export class EventStream<E extends object = EventMap> {
  private declare readonly [STATE]: EventStreamState;

  constructor(config?: EventStreamOptions | null) {
    const callable = function eventStream(...args: unknown[]): EventStreamHandler {
      return (EventStream.prototype.route as (...a: unknown[]) => EventStreamHandler).apply(callable, args);
    } as unknown as EventStream<E>;
    Object.setPrototypeOf(callable, new.target.prototype);
    Object.defineProperty(callable, STATE, { value: createState(resolveEventStreamOptions(config ?? {})) });
    return callable;
  }

  /**
   * A route handler for the given channels: the same as calling the instance, for places where
   * a method reads better (`app.get('/events', eventStream.route('news'))`).
   *
   * Channels are names (`'news'`), templates filled per request from route params or the query
   * (`'room-{id}'`), an array of them, or a function of the request that returns names (or a
   * Promise of them). Throws `InvalidChannelError` here, where the route is declared, for no
   * channel or a name no request could make valid (`'a,b'`: give two names instead).
   */
  route(...channels: string[]): EventStreamHandler;
  /** The same, with the names as one array. */
  route(channels: readonly string[]): EventStreamHandler;
  /** The same, with the channels computed per request; `Req` types the request for your framework. */
  route(channels: readonly string[]): EventStreamHandler;
  route<Req extends StreamRequest = StreamRequest>(builder: ChannelsBuilder<Req>): EventStreamHandler<Req>;
  route(...args: unknown[]): EventStreamHandler {
    const spec = toChannelSpec(args);
    return (req, res, next) => this.handle(spec, req, res, next, req);
  }

  /** Serves an event stream for `channels` on this request, without a route. */
  run(req: StreamRequest, res: StreamResponse, channels: string | readonly string[]): Promise<void> {
    return serveStream(this[STATE].context, req, res, typeof channels === 'string' ? [channels] : channels);
  }

  /**
   * Serves a WHATWG `Request` (Next.js app router, Hono, any fetch runtime): resolves to a
   * `Response` whose body is the event stream. `params` fill `{name}` tokens, as route params
   * do in Express; otherwise they come from the URL's query.
   */
  fetch(
    request: Request,
    channels: ChannelList | ((request: Request) => ChannelList | Promise<ChannelList>),
    params?: Record<string, unknown>,
  ): Promise<Response> {
    const spec = typeof channels === 'string' ? [channels] : (channels as ChannelSpec);
    return serveFetch(this[STATE].context, request, spec, params);
  }

  /**
   * Koa middleware for the channels (same arguments as calling the instance). A channel
   * function, `authorize` and the hooks receive Koa's context: type it as yours
   * (`(ctx: Koa.ParameterizedContext<{ user: User }>) => ...`) to read `ctx.state`.
   */
  koa(...channels: string[]): KoaMiddleware;
  koa(channels: readonly string[]): KoaMiddleware;
  koa<Ctx extends KoaContextLike = KoaContextLike>(builder: (ctx: Ctx) => ChannelList | Promise<ChannelList>): KoaMiddleware<Ctx>;
  koa(...args: unknown[]): KoaMiddleware {
    return toKoaMiddleware(this.subjectHandler(toChannelSpec(args)));
  }

  /**
   * Fastify route handler for the channels (same arguments as calling the instance). A channel
   * function, `authorize` and the hooks receive Fastify's request, decorations included: type
   * it as `FastifyRequest` to read `request.user` (`@fastify/jwt`) or your own.
   */
  fastify(...channels: string[]): FastifyHandler;
  fastify(channels: readonly string[]): FastifyHandler;
  fastify<Req extends FastifyRequestLike = FastifyRequestLike>(
    builder: (request: Req) => ChannelList | Promise<ChannelList>,
  ): FastifyHandler<Req>;
  fastify(...args: unknown[]): FastifyHandler {
    return toFastifyHandler(this.subjectHandler(toChannelSpec(args)));
  }

  /**
   * Hono handler for the channels (same arguments as calling the instance): route params fill
   * `{name}` tokens, the query does otherwise. A channel function, `authorize` and the hooks
   * receive Hono's context: type it as `Context` to read what middleware set (`c.get(...)`).
   */
  hono(...channels: string[]): HonoHandler;
  hono(channels: readonly string[]): HonoHandler;
  hono<Ctx extends HonoContextLike = HonoContextLike>(builder: (c: Ctx) => ChannelList | Promise<ChannelList>): HonoHandler<Ctx>;
  hono(...args: unknown[]): HonoHandler {
    const spec = toChannelSpec(args);
    const context = this[STATE].context;
    return toHonoHandler((request, params, subject) => serveFetch(context, request, spec, params, subject));
  }

  /**
   * Publishes one event to a channel's subscribers here and on every GRIP proxy. Resolves
   * when local subscribers have it and every proxy accepted it.
   */
  publishEvent(channel: string, event: EventOf<E>): Promise<void> {
    return this[STATE].dispatcher.publish(channel, [event]);
  }

  /** Publishes several events in order; through GRIP they travel as one request. */
  publishEvents(channel: string, events: readonly EventOf<E>[]): Promise<void> {
    return this[STATE].dispatcher.publish(channel, events);
  }

  /** The publisher of one channel; the same object every time for the same channel. */
  getChannelPublisher(channel: string): ChannelPublisher<E> {
    // `E` is fixed per instance; the cache holds this instance's publishers only.
    return this[STATE].publishers.get(normalizeChannel(channel)) as ChannelPublisher<E>;
  }

  /** An object-mode Writable of events for `channel`, with backpressure down to delivery. */
  createChannelWritable(channel: string): ChannelWritable<E> {
    return this.getChannelPublisher(channel).createWritable();
  }

  /**
   * Who is listening: subscribers of a channel (or of each of several), on every instance when
   * the Redis engine runs with `presence` on, else in this process. Streams held by a GRIP
   * proxy are not counted. After an instance dies its subscribers stop counting within
   * `presence.ttlMs` (default 15 s).
   */
  presence(channel: string): Promise<number>;
  presence(channels: readonly string[]): Promise<Record<string, number>>;
  async presence(channels: string | readonly string[]): Promise<number | Record<string, number>> {
    const { presence } = this[STATE];
    if (presence === undefined) {
      throw new InvalidConfigError('presence() with the Redis engine needs the option `presence: true` (new EventStream({ redis, presence: true }))');
    }
    const names = typeof channels === 'string' ? [normalizeChannel(channels)] : channels.map((channel) => normalizeChannel(channel));
    const counts = await presence.count(names);
    if (typeof channels === 'string') return counts.get(names[0]!) ?? 0;
    const out: Record<string, number> = {};
    for (const [channel, count] of counts) Object.defineProperty(out, channel, { value: count, enumerable: true, writable: true, configurable: true });
    return out;
  }

  /** Counters of this instance: open streams, subscribers per channel, events published, clients dropped. */
  stats(): EventStreamStats {
    const { bus, metrics } = this[STATE];
    const channels = bus.counts();
    let subscribers = 0;
    for (const count of Object.values(channels)) subscribers += count;
    return {
      connections: bus.connections,
      heldStreams: metrics.holdsAnswered,
      subscribers,
      channels,
      eventsPublished: metrics.eventsPublished,
      clientsDropped: metrics.drops.slow_client,
    };
  }

  /**
   * A Prometheus scrape handler (text exposition format) for this instance's metrics; mount it
   * where Prometheus scrapes, e.g. `app.get('/metrics', eventStream.metricsHandler())`. Give
   * your prom-client `registry` to have gripstream's metrics next to your own in one scrape
   * (the default is a registry of gripstream's alone). The metrics are listed in
   * docs/operations-metrics.md.
   */
  metricsHandler(options?: { registry?: Registry }): MetricsHandler {
    const state = this[STATE];
    const registry = options?.registry ?? state.scrapes.keys().next().value ?? new Registry();
    let handler = state.scrapes.get(registry);
    if (handler === undefined) {
      state.detach.push(registerPrometheus(state.metrics, registry));
      handler = scrapeHandler(registry);
      state.scrapes.set(registry, handler);
    }
    return handler;
  }

  /**
   * The operator page: a handler serving a small self-contained HTML page with live figures
   * (streams, publish and delivery rates, drops, top channels, Redis and GRIP state), fed by
   * its own event stream at the same URL. Nothing is served unless you mount it. It shows
   * channel names and counts, never event data; requests go through `authorize` (see
   * `DashboardOptions.authorize`) and are refused with 403 when it says no.
   */
  dashboard(options?: DashboardOptions): DashboardHandler {
    const state = this[STATE];
    return dashboardHandler(state.metrics, state.context.hooks.authorize, options, state.dashboards, () => state.closed);
  }

  /**
   * Resolves once every dependency answered: the Redis of the engine or history (a PING) and
   * each GRIP proxy (any HTTP answer from its publish endpoint). Rejects with
   * `UnreachableError`, naming the address, when one has not answered within `timeout` ms
   * (default 5000). With no dependency it resolves at once. For a start-up check:
   * `await eventStream.ready()` before `server.listen()`.
   */
  async ready(options: ReadyOptions = {}): Promise<void> {
    const state = this[STATE];
    if (state.closed) throw new ClosedError();
    await state.health.whenUp(readyTimeoutOf(options.timeout));
  }

  /**
   * What the liveness and readiness probes see, without any I/O: each dependency's state at
   * its last check (they are checked every second in the background), and whether this
   * instance is draining or closed.
   */
  health(): HealthReport {
    const state = this[STATE];
    const draining = state.drain !== undefined;
    return {
      live: !state.closed,
      ready: !state.closed && !draining && state.health.allUp,
      draining,
      closed: state.closed,
      dependencies: state.health.snapshot(),
    };
  }

  /**
   * A `node:http` / Express / connect handler for a Kubernetes probe: `'ready'` answers 200
   * while every dependency answers and the instance is not draining, else 503; `'live'`
   * answers 200 while this EventStream is open (a Redis outage must not restart every pod).
   * The body is `health()` as JSON. `app.get('/readyz', eventStream.probe('ready'))`.
   */
  probe(kind: ProbeKind): ProbeHandler {
    checkProbeKind(kind);
    return (_req, res) => writeProbe(res, probeAnswer(kind, this.health()));
  }

  /** The same as `probe(kind)` as a WHATWG `Response`, for fetch runtimes (Next.js, Hono). */
  probeResponse(kind: ProbeKind): Response {
    checkProbeKind(kind);
    return probeResponse(probeAnswer(kind, this.health()));
  }

  /**
   * Gets this instance out of the way before a shutdown, without dropping anyone: from now on
   * new stream requests get 503 with `Retry-After` (a load balancer moves to another
   * instance) and readiness reports not ready; open streams are told to reconnect (a random
   * `retry:` each) and ended in waves spread over `windowMs` (default 10000), so they come
   * back on the other instances spread over the window, resuming from their Last-Event-ID.
   * Publishing keeps working throughout. Resolves when the last stream was ended. Calling it
   * again returns the same drain. Streams held by a GRIP proxy are the proxy's, not ended.
   */
  drain(windowMs: number = DEFAULT_DRAIN_MS): Promise<void> {
    const state = this[STATE];
    if (state.drain !== undefined) return state.drain.done;
    if (state.closed) return Promise.resolve();
    const window = drainWindowOf(windowMs);
    state.drain = new Drain(
      {
        subscribers: () => state.bus.subscribers(),
        end(subscriber) {
          state.metrics.drops.drain++;
          subscriber.end();
          state.bus.remove(subscriber);
        },
      },
      window,
    );
    return state.drain.done;
  }

  /**
   * Ends every open stream, stops timers and the history store; later publishes reject.
   * With `{ drain }` it drains first (see `drain()`), so no client is dropped all at once.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const state = this[STATE];
    if (state.closed) return;
    const drain = options.drain;
    if (drain !== undefined && drain !== false) {
      await this.drain(drain === true ? DEFAULT_DRAIN_MS : drain);
      if (state.closed) return;
    }
    state.closed = true;
    state.drain?.finish();
    state.health.stop();
    state.keepAlive.stop();
    state.stallWatch.stop();
    for (const subscriber of [...state.bus.subscribers()]) {
      state.metrics.drops.shutdown++;
      subscriber.end();
      state.bus.remove(subscriber);
    }
    for (const end of [...state.dashboards]) end();
    for (const detach of state.detach) detach();
    await state.presence?.close();
    await state.engine.close();
    // Last: what was gathered until now (a burst of drops, failed publishes) is still reported.
    state.incidents.close();
  }

  /** A node handler that hands channel functions and hooks the framework's `subject`. */
  private subjectHandler(spec: ChannelSpec): SubjectHandler {
    return (req, res, next, subject) => this.handle(spec, req, res, next, subject);
  }

  private async handle(
    spec: ChannelSpec,
    req: StreamRequest,
    res: StreamResponse,
    next: NextFunction | undefined,
    subject: FrameworkRequest,
  ): Promise<void> {
    try {
      await serveStream(this[STATE].context, req, res, spec, subject);
    } catch (err) {
      if (next !== undefined) return next(err);
      debug('request failed: %O', err);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      } else {
        res.destroy();
      }
    }
  }
}

function createState(settings: EventStreamSettings): EventStreamState {
  const metrics = new Metrics(settings.metrics.on);
  const backends = engineFor(settings.engine, (watcher) => new ChannelBus(watcher, metrics));
  try {
    return assembleState(settings, metrics, backends);
  } catch (err) {
    // The backends may hold a Redis connection (and a listener on the app's client): a
    // refused construction must leave nothing open, or the process never exits.
    void closeBackends(backends);
    throw err;
  }
}

async function closeBackends(backends: ReturnType<typeof engineFor>): Promise<void> {
  await backends.presence?.close().catch(() => undefined);
  await backends.engine.close().catch(() => undefined);
}

function assembleState(settings: EventStreamSettings, metrics: Metrics, backends: ReturnType<typeof engineFor>): EventStreamState {
  const { keepAliveInterval, maxBufferedBytes } = settings;
  const { engine, bus, presence } = backends;
  const history = engine.history;
  const grip =
    settings.grip === undefined
      ? undefined
      : new GripTransport(settings.grip.publisher, settings.grip.prefix, settings.grip.reliable, settings.gripTimeout, metrics);
  const incidents = new Incidents(settings.logger, settings.onIncident);
  const keepAlive = new KeepAlive(keepAliveInterval, () => bus.subscribers());
  const flusher = new TickFlusher(metrics);
  const overflow = (subscriber: Subscriber): void => {
    if (subscriber.closed) return;
    metrics.drops.slow_client++;
    debug('dropping a client over %d buffered bytes', maxBufferedBytes);
    incidents.clientDropped(maxBufferedBytes);
    // Its sink's close removes it from the bus and reports the disconnect.
    subscriber.destroy();
  };
  const stallWatch = new StallWatch(overflow);
  const subscriberHooks: SubscriberHooks = {
    maxBufferedBytes,
    schedule: flusher.schedule,
    metrics,
    overflow,
    overBound: stallWatch.watch,
  };
  const state: EventStreamState = {
    bus,
    keepAlive,
    stallWatch,
    engine,
    presence,
    metrics,
    scrapes: new Map(),
    detach: [],
    dashboards: new Set(),
    incidents,
    health: new HealthMonitor(dependencyChecks(backendChecks(history), settings.grip?.publisher, settings.gripTimeout), incidents, metrics),
    drain: undefined,
    publishers: new PublisherCache((ch, events) => state.dispatcher.publish(ch, events)),
    dispatcher: new Dispatcher({
      engine,
      grip,
      metrics,
      isClosed: () => state.closed,
      // With Redis, delivery comes back through the subscription later: no lag is sampled there.
      writesPending: engine instanceof RedisEngine ? undefined : () => flusher.pending,
      onGripFailure: (err) => incidents.gripPublishFailed(err),
    }),
    closed: false,
    context: {
      bus,
      keepAlive,
      subscriberHooks,
      history,
      joinPosition: engine.joinPosition?.bind(engine),
      grip,
      opening: Frame.of(openingText(settings.retry)),
      keepAliveSeconds: Math.max(1, Math.round(keepAliveInterval / 1000)),
      holdReplayBytes: subscriberHooks.maxBufferedBytes,
      retry: settings.retry,
      hooks: settings.hooks,
      gates: [],
      tokens: settings.tokens,
      incidents,
      metrics,
      isClosed: () => state.closed,
      isDraining: () => state.drain !== undefined,
    },
  };
  attachBackendMetrics(engine, metrics);
  let detachMetrics: (() => void) | undefined;
  try {
    detachMetrics = wireMetrics(
      { metrics, bus, history: historyView(history), health: state.health, hasGrip: grip !== undefined },
      settings.metrics,
    );
  } catch (err) {
    state.health.stop();
    throw err;
  }
  if (detachMetrics !== undefined) state.detach.push(detachMetrics);
  return state;
}
