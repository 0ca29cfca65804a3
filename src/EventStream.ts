import createDebug from 'debug';
import { toFastifyHandler, type FastifyHandler } from './adapters/fastify.js';
import { serveFetch } from './adapters/fetch.js';
import { toKoaMiddleware, type KoaMiddleware } from './adapters/koa.js';
import { ChannelBus } from './bus/ChannelBus.js';
import { Frame } from './bus/Frame.js';
import { KeepAlive } from './bus/KeepAlive.js';
import type { Subscriber, SubscriberHooks } from './bus/Subscriber.js';
import { TickFlusher } from './bus/TickFlusher.js';
import { ClosedError, InvalidConfigError } from './errors.js';
import { validateOptions } from './options.js';
import { DEFAULT_GRIP_TIMEOUT, GripTransport } from './grip/GripTransport.js';
import { publisherFromSpec } from './grip/publisherFromSpec.js';
import type { Engine } from './engine/Engine.js';
import { engineFor } from './engine/createEngine.js';
import type { HistoryStore } from './history/HistoryStore.js';
import { ChannelPublisher } from './publish/ChannelPublisher.js';
import type { ChannelWritable } from './publish/ChannelWritable.js';
import { Dispatcher } from './publish/Dispatcher.js';
import { normalizeChannel } from './request/channelName.js';
import { toChannelSpec, type ChannelSpec } from './request/channels.js';
import type { RequestHooks, StreamContext } from './request/context.js';
import { openingText } from './request/decide.js';
import { serveStream } from './request/serveStream.js';
import { dependencyChecks } from './ops/checks.js';
import { DEFAULT_DRAIN_MS, Drain } from './ops/drain.js';
import { DEFAULT_READY_TIMEOUT, HealthMonitor, type HealthReport } from './ops/health.js';
import { Incidents, type IncidentOptions } from './ops/incidents.js';
import { resolveLogger } from './ops/logger.js';
import { probeAnswer, probeResponse, writeProbe, type ProbeHandler, type ProbeKind } from './ops/probes.js';
import type {
  ChannelList,
  ChannelsBuilder,
  EventMap,
  EventOf,
  EventStreamConfig,
  EventStreamHandler,
  EventStreamStats,
  NextFunction,
  StreamRequest,
  StreamResponse,
} from './types.js';

const debug = createDebug('gripstream');

export const DEFAULT_GRIP_PREFIX = 'events-';
export const DEFAULT_KEEP_ALIVE_INTERVAL = 20_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Options beyond the reference's: request hooks, and where incidents go. */
export interface EventStreamOptions extends EventStreamConfig, RequestHooks, IncidentOptions {}

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
  readonly dispatcher: Dispatcher;
  readonly context: StreamContext;
  readonly engine: Engine;
  readonly publishers: Map<string, ChannelPublisher>;
  readonly counters: { eventsPublished: number; clientsDropped: number };
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
    Object.defineProperty(callable, STATE, { value: createState(config ?? {}) });
    return callable;
  }

  /** Route handler for the given channels; the same as calling the instance. */
  route(...channels: string[]): EventStreamHandler;
  route(channels: readonly string[]): EventStreamHandler;
  route<Req extends StreamRequest = StreamRequest>(builder: ChannelsBuilder<Req>): EventStreamHandler<Req>;
  route(...args: unknown[]): EventStreamHandler {
    const spec = toChannelSpec(args);
    return (req, res, next) => this.handle(spec, req, res, next);
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

  /** Koa middleware for the channels (same arguments as calling the instance). */
  koa(...channels: string[]): KoaMiddleware;
  koa(channels: readonly string[]): KoaMiddleware;
  koa(builder: ChannelsBuilder): KoaMiddleware;
  koa(...args: unknown[]): KoaMiddleware {
    return toKoaMiddleware((this.route as (...a: unknown[]) => EventStreamHandler)(...args));
  }

  /** Fastify route handler for the channels (same arguments as calling the instance). */
  fastify(...channels: string[]): FastifyHandler;
  fastify(channels: readonly string[]): FastifyHandler;
  fastify(builder: ChannelsBuilder): FastifyHandler;
  fastify(...args: unknown[]): FastifyHandler {
    return toFastifyHandler((this.route as (...a: unknown[]) => EventStreamHandler)(...args));
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
    const name = normalizeChannel(channel);
    const { publishers, dispatcher } = this[STATE];
    let publisher = publishers.get(name);
    if (publisher === undefined) {
      publisher = new ChannelPublisher(name, (ch, events) => dispatcher.publish(ch, events));
      publishers.set(name, publisher);
    }
    // `E` is fixed per instance; the map holds this instance's publishers only.
    return publisher as ChannelPublisher<E>;
  }

  /** An object-mode Writable of events for `channel`, with backpressure down to delivery. */
  createChannelWritable(channel: string): ChannelWritable<E> {
    return this.getChannelPublisher(channel).createWritable();
  }

  stats(): EventStreamStats {
    const { bus, counters } = this[STATE];
    const channels = bus.counts();
    let subscribers = 0;
    for (const count of Object.values(channels)) subscribers += count;
    return {
      connections: bus.connections,
      subscribers,
      channels,
      eventsPublished: counters.eventsPublished,
      clientsDropped: counters.clientsDropped,
    };
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
    const timeout = options.timeout ?? DEFAULT_READY_TIMEOUT;
    if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMER_DELAY) {
      throw new InvalidConfigError(`ready({ timeout }) must be a positive number of ms up to ${MAX_TIMER_DELAY}, got ${String(timeout)}`);
    }
    await state.health.whenUp(timeout);
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
    if (typeof windowMs !== 'number' || !(windowMs >= 0) || windowMs > MAX_TIMER_DELAY) {
      throw new InvalidConfigError(`drain(windowMs) takes a number of ms from 0 to ${MAX_TIMER_DELAY}, got ${String(windowMs)}`);
    }
    state.drain = new Drain(
      {
        subscribers: () => state.bus.subscribers(),
        end(subscriber) {
          subscriber.end();
          state.bus.remove(subscriber);
        },
      },
      windowMs,
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
    for (const subscriber of [...state.bus.subscribers()]) {
      subscriber.end();
      state.bus.remove(subscriber);
    }
    await state.engine.close();
    // Last: what was gathered until now (a burst of drops, failed publishes) is still reported.
    state.incidents.close();
  }

  private async handle(
    spec: ChannelSpec,
    req: StreamRequest,
    res: StreamResponse,
    next: NextFunction | undefined,
  ): Promise<void> {
    try {
      await serveStream(this[STATE].context, req, res, spec);
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

function createState(config: EventStreamOptions): EventStreamState {
  validateOptions(config);
  const keepAliveInterval = positiveNumber(config.keepAliveInterval, DEFAULT_KEEP_ALIVE_INTERVAL, 'keepAliveInterval');
  if (keepAliveInterval > MAX_TIMER_DELAY) {
    // setInterval silently turns longer delays into 1 ms: a keep-alive flood.
    throw new InvalidConfigError(`keepAliveInterval must be at most ${MAX_TIMER_DELAY} ms, got ${keepAliveInterval}`);
  }
  const maxBufferedBytes = positiveNumber(config.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 'maxBufferedBytes');
  if (config.retry !== undefined && !(Number.isSafeInteger(config.retry) && config.retry >= 0)) {
    throw new InvalidConfigError(`retry must be a non-negative integer of milliseconds, got ${String(config.retry)}`);
  }
  const gripTimeout = positiveNumber(config.gripTimeout, DEFAULT_GRIP_TIMEOUT, 'gripTimeout');
  if (gripTimeout > MAX_TIMER_DELAY) {
    throw new InvalidConfigError(`gripTimeout must be at most ${MAX_TIMER_DELAY} ms, got ${gripTimeout}`);
  }
  const publisher = publisherFromSpec(config.grip);
  const { engine, bus } = engineFor(config, (watcher) => new ChannelBus(watcher));
  const history = engine.history;
  const reliable = config.gripReliable === true;
  if (reliable && (publisher === undefined || history?.lastIds === undefined)) {
    throw new InvalidConfigError('gripReliable needs `grip` and a history store with lastIds() (e.g. history: { redis })');
  }
  const grip =
    publisher === undefined ? undefined : new GripTransport(publisher, config.gripPrefix ?? DEFAULT_GRIP_PREFIX, reliable, gripTimeout);
  if (reliable && grip?.verifiesSignatures === false) {
    // A recovery request (Grip-Last) replays history; without a key to check Grip-Sig, anyone
    // reaching the origin directly could pose as the proxy and ask for it.
    throw new InvalidConfigError(
      'gripReliable needs a key to verify Grip-Sig on every grip client (`key` with `control_iss`, or `verify_key`; in a GRIP URL `?iss=...&key=...`)',
    );
  }
  const counters = { eventsPublished: 0, clientsDropped: 0 };
  const incidents = new Incidents(resolveLogger(config.logger), config.onIncident);
  const keepAlive = new KeepAlive(keepAliveInterval, () => bus.subscribers());
  const flusher = new TickFlusher();
  const subscriberHooks: SubscriberHooks = {
    maxBufferedBytes,
    schedule: flusher.schedule,
    overflow(subscriber: Subscriber) {
      counters.clientsDropped++;
      debug('dropping a client over %d buffered bytes', maxBufferedBytes);
      // METRIC HOOK (issue 22, ops-metrics): clients dropped counter += 1 (reason "slow")
      incidents.clientDropped(maxBufferedBytes);
      // Its sink's close removes it from the bus and reports the disconnect.
      subscriber.destroy();
    },
  };
  const state: EventStreamState = {
    bus,
    keepAlive,
    engine,
    counters,
    incidents,
    health: new HealthMonitor(dependencyChecks(history, publisher, gripTimeout), incidents),
    drain: undefined,
    publishers: new Map(),
    dispatcher: new Dispatcher(engine, grip, counters, () => state.closed, (err) => incidents.gripPublishFailed(err)),
    closed: false,
    context: {
      bus,
      keepAlive,
      subscriberHooks,
      history,
      grip,
      opening: Frame.of(openingText(config.retry)),
      keepAliveSeconds: Math.max(1, Math.round(keepAliveInterval / 1000)),
      retry: config.retry,
      hooks: { authorize: config.authorize, onConnect: config.onConnect, onDisconnect: config.onDisconnect },
      incidents,
      isClosed: () => state.closed,
      isDraining: () => state.drain !== undefined,
    },
  };
  return state;
}

function positiveNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidConfigError(`${name} must be a positive, finite number, got ${String(value)}`);
  }
  return value;
}

function checkProbeKind(kind: unknown): void {
  if (kind !== 'live' && kind !== 'ready') {
    throw new InvalidConfigError(`probe kind must be 'live' or 'ready', got ${typeof kind === 'string' ? JSON.stringify(kind) : typeof kind}`);
  }
}
