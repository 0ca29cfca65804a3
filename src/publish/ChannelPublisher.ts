import type { EventMap, EventOf, ServerSentEvent } from '../types.js';
import { ChannelWritable } from './ChannelWritable.js';

/** Publishes a batch of events to a channel, all or nothing (the EventStream's dispatcher). */
export type ChannelPublish = (channel: string, events: readonly ServerSentEvent[]) => Promise<void>;

/**
 * Publishing bound to one channel; `eventStream.getChannelPublisher(ch)` returns one per channel.
 * `E` is the EventStream's event map: names and data are checked against it.
 */
export class ChannelPublisher<E extends object = EventMap> {
  /** @internal Made by `eventStream.getChannelPublisher()`. */
  constructor(
    /** The channel every publish of this object goes to. */
    readonly channel: string,
    private readonly publishBatch: ChannelPublish,
  ) {}

  /** Publishes one event to the channel; resolves once it is delivered (see `EventStream.publishEvent`). */
  publishEvent(event: EventOf<E>): Promise<void> {
    return this.publishBatch(this.channel, [event]);
  }

  /** Several events in order, as one GRIP publish request. */
  publishEvents(events: readonly EventOf<E>[]): Promise<void> {
    return this.publishBatch(this.channel, events);
  }

  /** An object-mode Writable into this channel, with backpressure; events written meanwhile are batched. */
  createWritable(): ChannelWritable<E> {
    return new ChannelWritable<E>((events) => this.publishBatch(this.channel, events));
  }
}
