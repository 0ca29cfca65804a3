import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ChatService } from './chat.service.js';

type AnyRequest = ExpressRequest | FastifyRequest;
type AnyResponse = ExpressResponse | FastifyReply;

@Controller('rooms')
export class EventsController {
  // An explicit token: tsx/esbuild do not emit the type metadata Nest would otherwise read.
  constructor(@Inject(ChatService) private readonly chat: ChatService) {}

  /**
   * `@Res()` hands the response to gripstream (Nest sends nothing itself). A channel
   * builder's error is rethrown, so Nest's exception filters answer it.
   */
  @Get(':room/events')
  async events(@Req() req: AnyRequest, @Res() res: AnyResponse): Promise<void> {
    if (isFastifyReply(res)) {
      await this.chat.roomForFastify(req as FastifyRequest, res);
      return;
    }
    let failure: unknown;
    await this.chat.roomForExpress(req as ExpressRequest, res, (err) => {
      failure = err ?? new Error('stream failed');
    });
    if (failure !== undefined) throw failure;
  }

  @Post(':room/messages')
  @HttpCode(202)
  async publish(@Param('room') room: string, @Body() body: { text?: unknown }): Promise<{ ok: true }> {
    await this.chat.publish(room, String(body?.text ?? ''));
    return { ok: true };
  }
}

function isFastifyReply(res: AnyResponse): res is FastifyReply {
  return typeof (res as Partial<FastifyReply>).hijack === 'function';
}
