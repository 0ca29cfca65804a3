import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Request as ExpressRequest } from 'express';
import type { FastifyRequest } from 'fastify';
import { EventStream, type EventStreamHandler, type FastifyHandler } from '../../src/index.js';
import type { WithUser } from './session.guard.js';

/** The request a guarded route hands gripstream: Express's or Fastify's, with `user` set by the guard. */
type GuardedRequest = (ExpressRequest | FastifyRequest) & WithUser;

/**
 * Owns the EventStream: one per application, shared by every controller that streams or
 * publishes. Its streams end before Nest closes the HTTP server, which would otherwise wait
 * for them forever.
 */
@Injectable()
export class ChatService implements BeforeApplicationShutdown {
  readonly eventStream = new EventStream({
    // Defence in depth: a user's channel only to that user. Nest's request on either platform
    // (what the guard put `user` on) is what hooks receive.
    authorize: (req: GuardedRequest, channels) =>
      channels.every((channel) => !channel.startsWith('user-') || channel === `user-${req.user?.name}`) ||
      { status: 403, reason: 'that is not your channel' },
  });
  /** The room stream for each platform: `{room}` comes from the route param on both. */
  readonly roomForExpress: EventStreamHandler = this.eventStream('room-{room}');
  readonly roomForFastify: FastifyHandler = this.eventStream.fastify('room-{room}');
  /** The logged-in user's own stream, behind SessionGuard: the channel comes from `request.user`. */
  readonly mineForExpress: EventStreamHandler<ExpressRequest & WithUser> = this.eventStream(
    (req: ExpressRequest & WithUser) => `user-${req.user!.name}`,
  );
  readonly mineForFastify: FastifyHandler<FastifyRequest & WithUser> = this.eventStream.fastify(
    (request: FastifyRequest & WithUser) => `user-${request.user!.name}`,
  );

  /** A direct message from one user to another's stream. */
  message(from: string, to: string, text: string): Promise<void> {
    return this.eventStream.publishEvent(`user-${to}`, { event: 'message', data: { from, text } });
  }

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
