import type { ChannelBus } from '../bus/ChannelBus.js';
import type { Frame } from '../bus/Frame.js';
import type { KeepAlive } from '../bus/KeepAlive.js';
import type { SubscriberHooks } from '../bus/Subscriber.js';
import type { GripTransport } from '../grip/GripTransport.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { StreamRequest } from '../types.js';

/** What `onConnect` and `onDisconnect` are told about a stream. */
export interface ConnectionInfo {
  /** The request: a `node:http` request, or a WHATWG `Request` for fetch handlers. */
  req: StreamRequest | Request;
  /** The channels the stream listens on, after templates were filled. */
  channels: readonly string[];
  /** True when a GRIP proxy holds the connection and this process only answered once. */
  proxied: boolean;
}

/** Functions gripstream calls around each stream request: options of `new EventStream()`. */
export interface RequestHooks {
  /** Refuse a stream with 403 before anything is written by returning false. */
  authorize?: (req: StreamRequest | Request, channels: readonly string[]) => boolean | Promise<boolean>;
  /**
   * Called once when a stream opens. One that throws ends that stream; its error goes where
   * the route's errors go (`next(err)`, or a 500).
   */
  onConnect?: (info: ConnectionInfo) => void;
  /** Called once when a stream ends. One that throws is logged (`DEBUG=gripstream*`), never thrown. */
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
  isClosed(): boolean;
}
