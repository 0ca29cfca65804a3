import type { ChannelsBuilder, EventStreamConfig, ServerSentEvent, StreamRequest } from './types.js';

// The type names @fanoutio/eventstream 2.0.1 exports, so that its users' type imports keep
// compiling after the switch. Each is gripstream's own type under the old name.

/**
 * `@fanoutio/eventstream`'s name for an event.
 * @deprecated Use {@link ServerSentEvent}.
 */
export type IServerSentEvent = ServerSentEvent;

/**
 * `@fanoutio/eventstream`'s name for the constructor options.
 * @deprecated Use {@link EventStreamConfig} (or `EventStreamOptions`, which adds the hooks).
 */
export type IEventStreamConfig = EventStreamConfig;

/**
 * `@fanoutio/eventstream`'s name for a function of the request that returns channel names.
 * @deprecated Use {@link ChannelsBuilder}.
 */
export type IChannelsBuilder<Req extends StreamRequest = StreamRequest> = ChannelsBuilder<Req>;

/**
 * `@fanoutio/eventstream`'s pair of a channel and an event (its `publishEvent` argument type
 * internally); gripstream publishes with `publishEvent(channel, event)` instead.
 * @deprecated Use `{ channel: string; event: ServerSentEvent }`, or {@link ServerSentEvent} with the channel as its own argument.
 */
export interface IAddressedEvent {
  /** The channel the event goes to. */
  channel: string;
  /** The event. */
  event: ServerSentEvent;
}
