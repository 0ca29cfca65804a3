import type { AccessGate } from './gate.js';
import type { SubscribeGate } from '../auth/subscribeGate.js';
import type { ChannelBus } from '../bus/ChannelBus.js';
import type { Frame } from '../bus/Frame.js';
import type { KeepAlive } from '../bus/KeepAlive.js';
import type { SubscriberHooks } from '../bus/Subscriber.js';
import type { GripTransport } from '../grip/GripTransport.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { Incidents } from '../telemetry/incidents.js';
import type { Metrics } from '../telemetry/Metrics.js';
import type { RequestHooks } from '../types.js';

// The hooks are public option types, defined in types.ts where config/ reads them.
export type { ConnectionInfo, RefusalInfo, RequestHooks } from '../types.js';

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
