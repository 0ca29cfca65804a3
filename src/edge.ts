/**
 * `gripstream/edge`: the GRIP path for web-standard runtimes (Next.js's Edge runtime, workers).
 * Nothing imported from here reaches a `node:` module or `Buffer`; `test/edge/web-runtime.test.ts`
 * bundles this entry for a neutral platform to keep it so.
 */
export { EdgeEventStream, type EdgeEventStreamOptions } from './edge/EdgeEventStream.js';
export type { HonoHandler, HonoContextLike } from './adapters/hono.js';
export type { AuthorizeResult, StreamRefusal } from './request/refusal.js';
export type { RefusalStatus } from './errors.js';
export type { ConnectionInfo, RefusalInfo } from './request/context.js';
export {
  GripstreamError,
  InvalidEventError,
  InvalidChannelError,
  InvalidConfigError,
  GripPublishError,
  StreamRefusedError,
  type GripstreamErrorCode,
} from './errors.js';
export type { EventMap, EventOf, ServerSentEvent, ChannelList, GripPublisherSpec, FrameworkRequest } from './types.js';
