import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ChatService } from './chat.service.js';
import { SessionGuard, Sessions, type WithUser } from './session.guard.js';

type AnyRequest = ExpressRequest | FastifyRequest;
type AnyResponse = ExpressResponse | FastifyReply;

@Controller()
export class EventsController {
  // Explicit tokens: tsx/esbuild do not emit the type metadata Nest would otherwise read.
  constructor(
    @Inject(ChatService) private readonly chat: ChatService,
    @Inject(Sessions) private readonly sessions: Sessions,
  ) {}

  /**
   * `@Res()` hands the response to gripstream (Nest sends nothing itself). A channel
   * builder's error is rethrown, so Nest's exception filters answer it.
   */
  @Get('rooms/:room/events')
  async events(@Req() req: AnyRequest, @Res() res: AnyResponse): Promise<void> {
    if (isFastifyReply(res)) {
      await this.chat.roomForFastify(req as FastifyRequest, res);
      return;
    }
    await expressStream(this.chat.roomForExpress, req as ExpressRequest, res);
  }

  @Post('rooms/:room/messages')
  @HttpCode(202)
  async publish(@Param('room') room: string, @Body() body: { text?: unknown }): Promise<{ ok: true }> {
    await this.chat.publish(room, String(body?.text ?? ''));
    return { ok: true };
  }

  /** Logs in as `user` (a real app checks a password): the session goes in an HttpOnly cookie. */
  @Post('login')
  @HttpCode(204)
  login(@Body() body: { user?: unknown }, @Res({ passthrough: true }) res: AnyResponse): void {
    const token = this.sessions.open({ name: String(body?.user ?? '') });
    const cookie = `session=${token}; HttpOnly; SameSite=Lax; Path=/`;
    if (isFastifyReply(res)) res.header('set-cookie', cookie);
    else res.setHeader('set-cookie', cookie);
  }

  /** The logged-in user's own stream; SessionGuard put `user` on the platform's request. */
  @Get('me/events')
  @UseGuards(SessionGuard)
  async mine(@Req() req: AnyRequest & WithUser, @Res() res: AnyResponse): Promise<void> {
    if (isFastifyReply(res)) {
      await this.chat.mineForFastify(req as FastifyRequest & WithUser, res);
      return;
    }
    await expressStream(this.chat.mineForExpress, req as ExpressRequest & WithUser, res);
  }

  /** A direct message from the logged-in user to `name`'s stream. */
  @Post('users/:name/messages')
  @UseGuards(SessionGuard)
  @HttpCode(202)
  async message(@Req() req: WithUser, @Param('name') name: string, @Body() body: { text?: unknown }): Promise<{ ok: true }> {
    await this.chat.message(req.user!.name, name, String(body?.text ?? ''));
    return { ok: true };
  }
}

/** Runs a connect-style stream handler, rethrowing its error for Nest's exception filters. */
async function expressStream<Req extends ExpressRequest>(
  handler: (req: Req, res: ExpressResponse, next: (err?: unknown) => void) => Promise<void>,
  req: Req,
  res: ExpressResponse,
): Promise<void> {
  let failure: unknown;
  await handler(req, res, (err) => {
    failure = err ?? new Error('stream failed');
  });
  if (failure !== undefined) throw failure;
}

function isFastifyReply(res: AnyResponse): res is FastifyReply {
  return typeof (res as Partial<FastifyReply>).hijack === 'function';
}
