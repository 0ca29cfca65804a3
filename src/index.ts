export { EventStream, type EventStreamOptions, type CloseOptions, type ReadyOptions } from './EventStream.js';
export type { HealthReport, DependencyHealth, DependencyState } from './ops/health.js';
export type { Incident, IncidentKind, IncidentHook, IncidentOptions } from './ops/incidents.js';
export type { Logger, IncidentLevel } from './ops/logger.js';
export type { ProbeKind, ProbeHandler } from './ops/probes.js';
export { getEventStreamSingleton, type GetEventStreamSingleton } from './singleton.js';
export type { KoaMiddleware, KoaContextLike } from './adapters/koa.js';
export type { FastifyHandler, FastifyRequestLike, FastifyReplyLike } from './adapters/fastify.js';
export { ChannelPublisher } from './publish/ChannelPublisher.js';
export { ChannelWritable } from './publish/ChannelWritable.js';
export { MemoryHistory } from './history/MemoryHistory.js';
export { RedisHistory, type RedisHistoryOptions } from './history/RedisHistory.js';
export type { RedisClientLike, RedisSubscriberLike } from './history/RedisClientLike.js';
export { HISTORY_TRUNCATED_EVENT } from './history/replay.js';
export type { HistoryStore, HistoryInput, HistoryRecord, Replay } from './history/HistoryStore.js';
export { FROM_START } from './history/HistoryStore.js';
export { encodeEvent, type SseFields } from './sse/encode.js';
export type { ConnectionInfo, RequestHooks } from './request/context.js';
export {
  GripstreamError,
  InvalidEventError,
  InvalidChannelError,
  InvalidConfigError,
  GripPublishError,
  HistoryError,
  RedisTimeoutError,
  ClosedError,
  UnreachableError,
  type GripstreamErrorCode,
} from './errors.js';
export type {
  EventMap,
  EventOf,
  ServerSentEvent,
  EventStreamConfig,
  EventStreamHandler,
  EventStreamStats,
  ChannelsBuilder,
  ChannelList,
  GripPublisherSpec,
  HistoryOptions,
  RedisEngineOptions,
  StreamRequest,
  StreamResponse,
  NextFunction,
} from './types.js';
