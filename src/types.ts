import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { IGripConfig, Publisher } from '@fanoutio/grip';
import type { FastifyRequestLike, HonoContextLike, KoaContextLike } from './frameworkShapes.js';
import type { MeterProvider } from '@opentelemetry/api';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import type { HistoryStore } from './history/HistoryStore.js';
import type { RedisClientLike } from './redisClient.js';
import type { RefusalStatus } from './errors.js';

// The public types: what an app passes in and gets back. They sit at the root, below every
// room, so config/ (which checks the options) reads them without importing the rooms that use
// them; those rooms import them from here, and the public entry exports them as it always has.

/** One Server-Sent Event as the publisher hands it over (any name, any data). */
export interface ServerSentEvent {
  /** The SSE `event` field: the name the browser's `addEventListener` listens for. */
  event: string;
  /** Any JSON-serialisable value; it is sent as `JSON.stringify(data)`. */
  data?: unknown;
  /** Optional id; one is assigned when history is on and none is given. */
  id?: string;
}

/**
 * Event names and their data types, for `new EventStream<Events>()`:
 * `{ message: { text: string }; cleared: undefined }`. Without one, any name and any data go.
 */
export type EventMap = Record<string, unknown>;

/**
 * One event of the map `E`: `{ event: name, data: E[name], id? }` for each name, with `data`
 * optional where its type allows `undefined`. For a map of any name (the default), it is
 * `ServerSentEvent` itself.
 */
export type EventOf<E extends object> = string extends keyof E
  ? ServerSentEvent
  : { [K in keyof E & string]: NamedEvent<K, E[K]> }[keyof E & string];

type NamedEvent<K extends string, D> = undefined extends D
  ? { event: K; data?: D; id?: string }
  : { event: K; data: D; id?: string };

/**
 * What a request handler receives. Plain `node:http` objects or `node:http2`'s compatibility
 * objects (`http2.createSecureServer`), plus the fields Express (`params`) and Next.js
 * (`query`) add, which `{name}` channel templates read.
 */
export type StreamRequest = (IncomingMessage | Http2ServerRequest) & {
  /** Route parameters (Express, Koa, Fastify): fill `{name}` tokens first. */
  params?: Record<string, unknown>;
  /** The parsed query (Next.js pages router), or its text: fills `{name}` tokens not in `params`. */
  query?: Record<string, unknown> | string;
};
/** What a request handler writes the stream to: `node:http`'s response, or `node:http2`'s compatibility response. */
export type StreamResponse = ServerResponse | Http2ServerResponse;

/**
 * What channel functions, `authorize` and the hooks receive: the framework's own request.
 * Express, Next.js's pages router, `node:http` and `node:http2`: the request (`StreamRequest`);
 * `eventStream.koa()`: Koa's context (`ctx.state` included); `eventStream.fastify()`: Fastify's
 * request (decorations such as `request.user` included); `eventStream.hono()`: Hono's context;
 * `eventStream.fetch()`: the WHATWG `Request`.
 */
export type FrameworkRequest = StreamRequest | Request | KoaContextLike | FastifyRequestLike | HonoContextLike;

/** Connect/Express's `next`: a route handler passes errors it cannot answer to it. */
export type NextFunction = (err?: unknown) => void;

/** A route's node handler with the framework object its channel function and hooks receive (internal). */
export type SubjectHandler = (req: StreamRequest, res: StreamResponse, next: NextFunction, subject: FrameworkRequest) => Promise<void>;

/**
 * Connect-style middleware: Express route handler, Next.js API route, plain `node:http`.
 * `Req` is what a typed channel builder asked for (e.g. `express.Request`), so a framework that
 * passes something else is refused at compile time.
 */
export type EventStreamHandler<Req extends StreamRequest = StreamRequest> = (
  req: Req,
  res: StreamResponse,
  next?: NextFunction,
) => Promise<void>;

/**
 * Picks the channels of a request, for routes whose channels depend on who asks. It may answer
 * with a Promise (a lookup of the user's rooms); a rejection is the route's error (500 or `next(err)`).
 * Its parameter may be typed as your framework's request (`(req: express.Request) => ...`).
 */
export type ChannelsBuilder<Req extends StreamRequest = StreamRequest> = (req: Req) => ChannelList | Promise<ChannelList>;

/** One channel name or several. */
export type ChannelList = string | readonly string[];

/** How GRIP is configured, exactly as `@fanoutio/eventstream` accepts it. */
export type GripPublisherSpec = string | IGripConfig | IGripConfig[] | Publisher;

/** Bounds of the built-in history, and where it lives (in memory by default, or Redis). */
export interface HistoryOptions {
  /** Events kept per channel (default 1000). */
  maxEvents?: number;
  /** Milliseconds an event is kept (default 5 minutes). */
  maxAge?: number;
  /**
   * In-memory store: bytes kept per channel, counting each event's UTF-8 event name, data
   * and id plus 64 bytes of bookkeeping (default 8 MiB). The oldest events go first.
   */
  maxBytes?: number;
  /**
   * In-memory store: bytes kept for all channels together, counted like `maxBytes`, plus
   * what each channel with events costs (224 bytes and 2 per character of its name)
   * (default 32 MiB). The oldest events of the whole store go first, whatever their channel,
   * and a channel is forgotten as soon as its last event goes.
   */
  maxTotalBytes?: number;
  /**
   * Keep history in Redis, shared by every instance: a `redis://` URL, the node URLs of a
   * Redis Cluster, or an ioredis client (`Redis` or `Cluster`). Needs the optional peer `ioredis`.
   */
  redis?: string | readonly string[] | RedisClientLike;
  /** Prefix of the Redis keys (default `'gripstream:'`). */
  keyPrefix?: string;
}

/**
 * The options of `@fanoutio/eventstream` 2.0.1 (`grip`, `gripPrefix`), the package gripstream
 * replaces, and gripstream's own; {@link EventStreamOptions} adds the request hooks.
 */
export interface EventStreamConfig {
  /** A GRIP proxy to hold connections and receive publishes; `null` (default) keeps everything in process. */
  grip?: GripPublisherSpec | null;
  /** Prefix of GRIP channel names (default `'events-'`). */
  gripPrefix?: string;
  /**
   * GRIP reliable mode: publishes carry `id` and `prev-id`, holds carry each channel's
   * `prev-id` and a next link, so the proxy detects a gap and fetches the missed events from
   * any instance. Needs `grip` and a history every publishing instance shares (`history.redis`).
   */
  gripReliable?: boolean;
  /** Milliseconds a proxy has to accept a publish before it rejects with `GripPublishError` (default 10000). */
  gripTimeout?: number;
  /** Milliseconds between keep-alive comments on idle streams (default 20000). */
  keepAliveInterval?: number;
  /** Bytes a client may have unread before it is disconnected (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Reconnection delay, in ms, sent to clients as the SSE `retry` field at stream start. */
  retry?: number;
  /** Event history for Last-Event-ID resume: options for the in-memory store, a store, or `false`. */
  history?: HistoryOptions | HistoryStore | false;
  /**
   * Redis as the engine between instances: a URL, a client (ioredis: Sentinel, TLS), or options.
   * A publish on any instance (or a job process serving no client) reaches every client of the
   * channel on every instance, once each, in one order; history and resume live in the same
   * Redis (`history` then takes only maxEvents/maxAge). Needs the optional peer `ioredis`.
   */
  redis?: string | RedisClientLike | RedisEngineOptions | null;
  /**
   * With `redis`: keep subscriber counts of every instance in Redis, for `presence()`
   * (`true`, or heartbeat/TTL settings). A dead instance stops counting `ttlMs` (default 15 s)
   * after its last heartbeat. Without `redis`, `presence()` counts this process and needs nothing.
   */
  presence?: boolean | PresenceOptions;
  /**
   * Metrics (docs/operations-metrics.md). On by default: counters are plain integers read
   * when scraped, histograms are sampled (1 publish in 64), and the OpenTelemetry instruments
   * are created on the global MeterProvider (a no-op until your app registers an SDK, which it
   * must do before this constructor runs) or on the `meterProvider` given. `false` turns the
   * histograms and the OpenTelemetry instruments off; `stats()` and the counters still count.
   */
  metrics?: boolean | MetricsOptions;
}

/** The `metrics` option spelled out. */
export interface MetricsOptions {
  /** Where the OpenTelemetry instruments are created (default: the global MeterProvider at construction). */
  meterProvider?: MeterProvider;
}

/** A snapshot of an EventStream's counters, from `stats()`. */
export interface EventStreamStats {
  /** Open direct (non-GRIP) streams. */
  connections: number;
  /**
   * Streams this instance handed to a GRIP proxy to hold since it started. The proxy keeps
   * them open and never tells the origin when one ends, so this counts holds answered (not
   * Grip-Last recoveries); the proxy's own figures tell how many are open now.
   */
  heldStreams: number;
  /** Sum over channels of their subscribers (a client on two channels counts twice). */
  subscribers: number;
  /** Subscribers per channel, for channels that have any. */
  channels: Record<string, number>;
  /** Events accepted by `publishEvent` and the writables. */
  eventsPublished: number;
  /** Clients disconnected because they stopped reading (buffer over `maxBufferedBytes`). */
  clientsDropped: number;
}

/** How often instances report, and how soon a dead one stops counting (the `presence` option spelled out). */
export interface PresenceOptions {
  /** Ms between heartbeats (default 5000). */
  heartbeatMs?: number;
  /** Ms after its last heartbeat an instance's subscribers stop counting (default 15000; at least twice `heartbeatMs`). */
  ttlMs?: number;
}

/** The `redis` option spelled out. */
export interface RedisEngineOptions {
  /** A `redis://` or `rediss://` URL (give one of `url`, `nodes` or `client`). */
  url?: string;
  /**
   * Startup nodes of a Redis Cluster (`redis://host:port` URLs; credentials and TLS of the
   * first apply to all): channels are sharded over its masters (README "Many instances").
   */
  nodes?: readonly string[];
  /** A client you configured (an ioredis `Redis`: Sentinel, TLS…, or `Cluster`); it is not closed by us. */
  client?: RedisClientLike;
  /** Milliseconds a Redis call may take before a publish rejects with `RedisTimeoutError` (default 2000). */
  commandTimeout?: number;
  /** Prefix of every key and pub/sub channel (default `'gripstream:'`); instances that share channels share it. */
  keyPrefix?: string;
}

/**
 * How tokens are checked. Give exactly one key source: `secret` (HMAC, HS256/384/512),
 * `publicKey` (RSA, EC or Ed25519: PEM `SPKI` text, a `CryptoKey`, a `KeyObject` or a JWK),
 * or `jwksUrl` (tokens minted elsewhere; keys fetched and cached, picked by `kid`).
 */
export interface TokenVerifierOptions {
  /** HMAC secret shared with whoever mints the tokens: at least 32 bytes. */
  secret?: string | Uint8Array;
  /** Public key of an asymmetric signer. PEM text must be SPKI (`-----BEGIN PUBLIC KEY-----`). */
  publicKey?: string | CryptoKey | KeyObject | JWK;
  /** URL of a JSON Web Key Set (e.g. your identity provider's `/.well-known/jwks.json`). */
  jwksUrl?: string | URL;
  /** Accepted `iss` values; when given, a token without a matching `iss` is refused. */
  issuer?: string | readonly string[];
  /** Accepted `aud` values; when given, a token without a matching `aud` is refused. */
  audience?: string | readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf` (default 30, at most 300). */
  clockTolerance?: number;
  /** Signature algorithms accepted; by default every HMAC one for `secret`, every asymmetric one otherwise. Never `none`. */
  algorithms?: readonly string[];
  /** Longest token accepted, in characters (default 4096); longer ones are refused unread. */
  maxTokenLength?: number;
}

// --- incidents: where failures are reported (options of new EventStream()) ---

/**
 * Where incident lines go: the shape Node apps already pass around. `console`, a `pino` or
 * `winston` logger, or any object with these methods fits. Each line is ONE string argument,
 * so every logger prints it as it is (pino puts it in `msg`).
 */
export interface Logger {
  /** Something stopped working: a dependency down, failed publishes or reads, a hook that threw. */
  error(message: string): unknown;
  /** Something the server handled but an operator should know: clients dropped by the bound. */
  warn(message: string): unknown;
  /** Something works again: a dependency that answers after being down. */
  info(message: string): unknown;
  /** Accepted for the shape of common loggers; incidents are never written at this level. */
  debug?(message: string): unknown;
}

/** The levels an incident line is written at. */
export type IncidentLevel = 'error' | 'warn' | 'info';

/**
 * What went wrong (or right again). The `-down` / `-up` pairs are state changes, reported once
 * per change; the others are occurrences, gathered into one report per burst.
 */
export type IncidentKind =
  | 'redis-down'
  | 'redis-up'
  | 'grip-down'
  | 'grip-up'
  | 'grip-publish-failed'
  | 'client-dropped'
  | 'on-disconnect-threw'
  | 'history-read-failed';

/** One incident, as the `onIncident` hook receives it; `message` is the line the logger got. */
export interface Incident {
  /** What happened (see docs/operations.md for the list). */
  kind: IncidentKind;
  /** The logger method the line went to. */
  level: IncidentLevel;
  /** One line, starting with `gripstream:`. */
  message: string;
  /**
   * How many occurrences this report stands for: 1 for a state change; for the other kinds
   * the number gathered since the last report of that kind (the metrics count each one).
   */
  count: number;
  /** The Redis or GRIP address concerned, when there is one (credentials removed). */
  address?: string;
  /** The first error of the burst, when there is one. */
  error?: unknown;
  /** When it was reported. */
  at: Date;
}

/** The `onIncident` option. */
export type IncidentHook = (incident: Incident) => void;

/** How incidents reach the app (options of `new EventStream()`). */
export interface IncidentOptions {
  /**
   * Where incident lines go: `console` (the default), a pino / winston logger, any object with
   * `error`, `warn` and `info` methods, or `false` for none. Only incidents are written, each
   * once (docs/operations.md lists them), so a healthy server writes nothing.
   */
  logger?: Logger | false;
  /** Called once per incident line, with the incident as data (for alerts, error trackers). */
  onIncident?: IncidentHook;
}

// --- request hooks (options of new EventStream()) ---

/**
 * A refused stream, as `authorize` (or a channel function, by throwing `StreamRefusedError`)
 * may describe it. `reason` goes out as the one-line plain-text body and to `onRefused`, so it
 * must only speak of the channels the client asked for.
 */
export interface StreamRefusal {
  /** 401 when the client may succeed after (re)authenticating; 403 when this user never may. */
  readonly status: RefusalStatus;
  /** One line for the client (line breaks become spaces; at most `MAX_REASON_LENGTH` characters). */
  readonly reason: string;
  /**
   * The `WWW-Authenticate` challenge of a 401 (default `Bearer`), e.g.
   * `Bearer error="invalid_token", error_description="expired"` (RFC 6750).
   */
  readonly wwwAuthenticate?: string;
}

/**
 * What `authorize` may answer: `true` lets the stream open; `false` refuses it with 403 and the
 * default reason; a `StreamRefusal` refuses it with its own status and reason.
 */
export type AuthorizeResult = boolean | StreamRefusal;

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

// --- subscription tokens ---

/**
 * What a token grants, from its `gripstream` claim:
 * `{ "gripstream": { "subscribe": ["room-1", "room-*"], "publish": ["room-*"] } }`.
 * A list left out grants nothing of that kind.
 */
export interface TokenGrant {
  /** Channel patterns the bearer may listen to. */
  readonly subscribe: readonly string[];
  /** Channel patterns the bearer may publish to. */
  readonly publish: readonly string[];
  /** The token's `sub`, when it has one (for logs and hooks). */
  readonly subject: string | undefined;
  /** The token's `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
}

/** Where a request may bring its token; `false` turns a place off. */
export interface TokenSources {
  /** Cookie name (default `gripstream_token`), or `false` to ignore cookies. */
  cookie?: string | false;
  /** Query parameter (default `access_token`), or `false` to refuse tokens in URLs. */
  query?: string | false;
}

// --- createPublishHandler ---

/** What the handler needs from its EventStream: the public publish call. */
export interface BatchPublisher {
  /** Publishes events to one channel, all or nothing (`EventStream#publishEvents`). */
  publishEvents(channel: string, events: readonly ServerSentEvent[]): Promise<void>;
}

/**
 * Remembers which (channel, id) pairs were published, so that a retried publish request does
 * not publish its events twice. A claim is taken before publishing and is `pending` until the
 * publish succeeded (then `done` for the window) or failed (then released, so a retry publishes).
 * A pending claim expires by itself: a process that died mid-publish does not block the id.
 */
export interface IdempotencyStore {
  /**
   * Answers the keys already `done`, and claims (as pending) every other key, unless one of
   * them is pending elsewhere: then nothing is claimed and `pending` is true.
   */
  claim(keys: readonly string[], pendingMs: number): ClaimResult | Promise<ClaimResult>;
  /** Marks claimed keys published; they stay known for `windowMs`. */
  commit(keys: readonly string[], windowMs: number): void | Promise<void>;
  /** Frees claimed keys after a failed publish. */
  release(keys: readonly string[]): void | Promise<void>;
}

/** What a claim found: keys already published, and whether another publish holds one of them. */
export interface ClaimResult {
  /** Keys already published within the window: their events are skipped as duplicates. */
  done: ReadonlySet<string>;
  /** True when another publish holds one of the keys right now (nothing was claimed). */
  pending: boolean;
}
