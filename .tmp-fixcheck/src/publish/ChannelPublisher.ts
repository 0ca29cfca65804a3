import type { ServerSentEvent } from '../types.js';
import { ChannelWritable } from './ChannelWritable.js';

/** Publishing bound to one channel; `eventStream.getChannelPublisher(ch)` returns one per channel. */
export class ChannelPublisher {
  constructor(
    readonly channel: string,
    private readonly publishBatch: (channel: string, events: ServerSentEvent[]) => Promise<void>,
  ) {}

  publishEvent(event: ServerSentEvent): Promise<void> {
    return this.publishBatch(this.channel, [event]);
  }

  /** Several events in order, as one GRIP publish request. */
  publishEvents(events: ServerSentEvent[]): Promise<void> {
    return this.publishBatch(this.channel, events);
  }

  createWritable(): ChannelWritable {
    return new ChannelWritable((events) => this.publishBatch(this.channel, events));
  }
}
