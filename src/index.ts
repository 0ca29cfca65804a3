export { EventStream, type EventStreamOptions, type CloseOptions, type ReadyOptions } from './EventStream.js';
export type { HealthReport, DependencyHealth, DependencyState } from './ops/health.js';
export type { Incident, IncidentKind, IncidentHook, IncidentOptions } from './telemetry/incidents.js';
export type { Logger, IncidentLevel } from './types.js';
export type { ProbeKind, ProbeHandler } from './ops/probes.js';
export { getEventStreamSingleton, type GetEventStreamSingleton } from './singleton.js';
export type { KoaMiddleware, KoaContextLike } from './adapters/koa.js';
export type { HonoHandler, HonoContextLike } from './adapters/hono.js';
export type { AuthorizeResult, StreamRefusal } from './request/refusal.js';
export type { RefusalStatus } from './errors.js';
export { MAX_REASON_LENGTH } from './request/refusal.js';
export type { FastifyHandler, FastifyRequestLike, FastifyReplyLike } from './adapters/fastify.js';
export { TokenVerifier, type TokenVerifierOptions } from './auth/TokenVerifier.js';
export { mintToken, type MintTokenOptions } from './auth/mintToken.js';
export { tokenCookie, type TokenCookieOptions } from './auth/tokenCookie.js';
export type { TokenGrant } from './auth/claims.js';
export type { StreamTokenOptions } from './auth/subscribeGate.js';
export type { TokenSources } from './auth/tokenFromRequest.js';
export { channelMatches } from './auth/channelPattern.js';
export type { PresenceOptions } from './types.js';
export { createPublishHandler, type PublishHandler, type PublishHandlerOptions } from './publish/httpPublishHandler.js';
export type { BatchPublisher, PublishRequestErrorCode } from './publish/httpPublish.js';
export { MemoryIdempotencyStore, type IdempotencyStore, type ClaimResult } from './publish/IdempotencyStore.js';
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from './redis/RedisIdempotencyStore.js';
export { ChannelPublisher } from './publish/ChannelPublisher.js';
export { ChannelWritable } from './publish/ChannelWritable.js';
export { MemoryHistory } from './memory/MemoryHistory.js';
export { RedisHistory, type RedisHistoryOptions } from './redis/RedisHistory.js';
export type { RedisClientLike, RedisSubscriberLike } from './redisClient.js';
export { HISTORY_TRUNCATED_EVENT } from './history/replay.js';
export type { HistoryStore, HistoryInput, HistoryRecord, Replay } from './history/HistoryStore.js';
export { FROM_START } from './history/HistoryStore.js';
export { encodeEvent, type SseFields } from './sse/encode.js';
export type { ConnectionInfo, RefusalInfo, RequestHooks } from './request/context.js';
export { DASHBOARD_CHANNEL, type DashboardOptions, type DashboardHandler, type DashboardSnapshot } from './ops/dashboard.js';
export type { MetricsHandler } from './ops/prometheus.js';
export { METER_NAME } from './ops/otel.js';
export {
  GripstreamError,
  InvalidEventError,
  InvalidChannelError,
  InvalidConfigError,
  GripPublishError,
  HistoryError,
  RedisTimeoutError,
  ClosedError,
  TokenError,
  StreamRefusedError,
  UnreachableError,
  type GripstreamErrorCode,
  type TokenErrorCode,
} from './errors.js';
export type {
  EventMap,
  EventOf,
  ServerSentEvent,
  EventStreamConfig,
  EventStreamHandler,
  EventStreamStats,
  FrameworkRequest,
  ChannelsBuilder,
  ChannelList,
  GripPublisherSpec,
  HistoryOptions,
  RedisEngineOptions,
  MetricsOptions,
  StreamRequest,
  StreamResponse,
  NextFunction,
} from './types.js';
export type { IServerSentEvent, IEventStreamConfig, IChannelsBuilder, IAddressedEvent } from './compat.js';
