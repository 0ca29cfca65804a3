import type { AccessGate } from './gate.js';
import type { AuthorizeResult } from './refusal.js';
import type { SubscribeGate } from '../auth/subscribeGate.js';
import type { ChannelBus } from '../bus/ChannelBus.js';
import type { Frame } from '../bus/Frame.js';
import type { KeepAlive } from '../bus/KeepAlive.js';
import type { SubscriberHooks } from '../bus/Subscriber.js';
import type { GripTransport } from '../grip/GripTransport.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { Incidents } from '../telemetry/incidents.js';
import type { Metrics } from '../telemetry/Metrics.js';
import type { FrameworkRequest } from '../types.js';

/** What `onConnect` and `onDisconnect` are told about a stream. */
export interface ConnectionInfo {
  /**
   * The framework's own request: Express's `req` (or the `node:http` request), Koa's context,
   * Fastify's request, Hono's context, or the WHATWG `Request` of a fetch handler.
   */
  req: FrameworkRequest;
  /** The channels the stream listens on, after templates were filled. */
  channels: readonly string[];
  /** True when a GRIP proxy holds the connection and this process only answered once. */
  proxied: boolean;
}

/** A stream request that was refused, as `onRefused` receives it. */
export interface RefusalInfo {
  /** The framework's own request (as in `ConnectionInfo`). */
  req: FrameworkRequest;
  /** The status sent: 401 or 403 from an access check, 400, 405, 406 or 503 for a bad or late request. */
  status: number;
  /** The one line sent as the body. */
  reason: string;
  /** The channels the request asked for, once they were known (not for a bad method or channel). */
  channels: readonly string[] | undefined;
}

// Methods, not function properties: their parameters are checked bivariantly, so a hook may
// type its request as the one framework it serves (`authorize(ctx: Koa.Context, channels)`).
/** Functions gripstream calls around each stream request: options of `new EventStream()`. */
export interface RequestHooks {
  /**
   * Decides whether the stream may open, once its channels are known and before anything is
   * written. `true` opens it; `false` refuses with 403; `{ status: 401 | 403, reason }` refuses
   * with that status and the reason as its one-line body (also thrown as `StreamRefusedError`).
   * It receives the framework's own request (see `ConnectionInfo.req`).
   */
  authorize?(req: FrameworkRequest, channels: readonly string[]): AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * A stream opened (or a GRIP proxy was told to hold one). One that throws ends that stream;
   * its error goes where the route's errors go (`next(err)`, or a 500).
   */
  onConnect?(info: ConnectionInfo): void;
  /** A stream this process served directly has ended. One that throws is reported, never thrown. */
  onDisconnect?(info: ConnectionInfo): void;
  /**
   * A stream request was refused (after the answer was decided, before it is sent): the place to
   * count or log refusals. A throw from it is ignored; the refusal goes out anyway.
   */
  onRefused?(info: RefusalInfo): void;
}

/** Everything the request side needs from its EventStream. */
export interface StreamContext {
  readonly bus: ChannelBus;
  readonly keepAlive: KeepAlive;
  readonly subscriberHooks: SubscriberHooks;
  readonly history: HistoryStore | undefined;
  /** The engine's `joinPosition`, when it has one: where a stream without Last-Event-ID starts. */
  readonly joinPosition: (() => number | undefined) | undefined;
  readonly grip: GripTransport | undefined;
  /** `openingText(retry)`, encoded once for every stream of this EventStream. */
  readonly opening: Frame;
  readonly keepAliveSeconds: number;
  /**
   * The most replay one GRIP hold (or recovery) body carries: what one client may have unread
   * (`maxBufferedBytes`). In reliable mode the proxy fetches the rest through the next link.
   */
  readonly holdReplayBytes: number;
  readonly retry: number | undefined;
  readonly hooks: RequestHooks;
  /** Checks run before `authorize`, in order. */
  readonly gates: readonly AccessGate[];
  /** Signed subscription tokens every stream must bring (the `tokens` option), checked after `authorize`. */
  readonly tokens: SubscribeGate | undefined;
  /** Where failures on the request side are reported (one line per incident). */
  readonly incidents: Incidents;
  /** Where streams, resumes and holds are counted. */
  readonly metrics: Metrics;
  isClosed(): boolean;
  /** True once `drain()` began: new streams are refused with 503 and `Retry-After`. */
  isDraining(): boolean;
}
