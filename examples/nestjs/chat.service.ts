import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { EventStream, type EventStreamHandler, type FastifyHandler } from '../../src/index.js';

/**
 * Owns the EventStream: one per application, shared by every controller that streams or
 * publishes. Its streams end before Nest closes the HTTP server, which would otherwise wait
 * for them forever.
 */
@Injectable()
export class ChatService implements BeforeApplicationShutdown {
  readonly eventStream = new EventStream();
  /** The room stream for each platform: `{room}` comes from the route param on both. */
  readonly roomForExpress: EventStreamHandler = this.eventStream('room-{room}');
  readonly roomForFastify: FastifyHandler = this.eventStream.fastify('room-{room}');

  publish(room: string, text: string): Promise<void> {
    return this.eventStream.publishEvent(`room-${room}`, { event: 'message', data: { text } });
  }

  /**
   * SIGTERM (a deploy) drains over DRAIN_MS (default 10 s): new streams get 503, open ones are
   * ended in waves and resume on the other instances. Any other shutdown closes at once.
   */
  beforeApplicationShutdown(signal?: string): Promise<void> {
    return this.eventStream.close({ drain: signal === 'SIGTERM' ? Number(process.env.DRAIN_MS ?? 10_000) : false });
  }
}
