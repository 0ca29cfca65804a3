import type { ChannelBus } from '../bus/ChannelBus.js';
import type { Frame } from '../bus/Frame.js';
import type { KeepAlive } from '../bus/KeepAlive.js';
import type { SubscriberHooks } from '../bus/Subscriber.js';
import type { GripTransport } from '../grip/GripTransport.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { Incidents } from '../ops/incidents.js';
import type { StreamRequest } from '../types.js';

export interface ConnectionInfo {
  /** The request: a `node:http` request, or a WHATWG `Request` for fetch handlers. */
  req: StreamRequest | Request;
  channels: readonly string[];
  /** True when a GRIP proxy holds the connection and this process only answered once. */
  proxied: boolean;
}

export interface RequestHooks {
  /** Refuse a stream with 403 before anything is written by returning false. */
  authorize?: (req: StreamRequest | Request, channels: readonly string[]) => boolean | Promise<boolean>;
  onConnect?: (info: ConnectionInfo) => void;
  onDisconnect?: (info: ConnectionInfo) => void;
}

/** Everything the request side needs from its EventStream. */
export interface StreamContext {
  readonly bus: ChannelBus;
  readonly keepAlive: KeepAlive;
  readonly subscriberHooks: SubscriberHooks;
  readonly history: HistoryStore | undefined;
  readonly grip: GripTransport | undefined;
  /** `openingText(retry)`, encoded once for every stream of this EventStream. */
  readonly opening: Frame;
  readonly keepAliveSeconds: number;
  readonly retry: number | undefined;
  readonly hooks: RequestHooks;
  /** Where failures on the request side are reported (one line per incident). */
  readonly incidents: Incidents;
  isClosed(): boolean;
  /** True once `drain()` began: new streams are refused with 503 and `Retry-After`. */
  isDraining(): boolean;
}
