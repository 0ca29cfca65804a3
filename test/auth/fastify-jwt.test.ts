import fastifyJwt from '@fastify/jwt';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { afterEach, describe } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { mayListen, perUserStreamTests, type AuthApp } from './scenario.js';

// The per-user stream behind @fastify/jwt on Fastify 5: a preHandler verifies the bearer token
// (Fastify answers 401 itself without one), and the channel function and `authorize` read
// `request.user`, the plugin's decoration, from the Fastify request they receive.

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string };
    user: { sub: string };
  }
}

afterEach(runCleanups);

/** The usual @fastify/jwt guard: `request.jwtVerify()` sets `request.user` or rejects with 401. */
async function authenticate(request: FastifyRequest): Promise<void> {
  await request.jwtVerify();
}

describe('fastify + @fastify/jwt (bearer token, request.user)', () => {
  perUserStreamTests(
    async (): Promise<AuthApp> => {
      const eventStream = track(
        new EventStream({
          // Fastify routes hand hooks the Fastify request, decorations included.
          authorize: (request: FastifyRequest, channels) => mayListen(request.user.sub, channels),
        }),
      );
      const app = Fastify();
      await app.register(fastifyJwt, { secret: 'a test secret of enough length' });
      app.addHook('preClose', () => eventStream.close());
      // The case: a channel function typed with FastifyRequest compiles and sees `user`.
      app.get('/me/events', { preHandler: authenticate }, eventStream.fastify((request: FastifyRequest) => `user-${request.user.sub}`));
      app.get('/rooms/:room/events', { preHandler: authenticate }, eventStream.fastify('room-{room}'));
      app.post<{ Params: { room: string }; Body: { text: string } }>(
        '/rooms/:room/messages',
        { preHandler: authenticate },
        async (request, reply: FastifyReply) => {
          const channel = `room-${request.params.room}`;
          const allowed = mayListen(request.user.sub, [channel]);
          if (allowed !== true) return reply.code(allowed === false ? 403 : allowed.status).send(allowed === false ? '' : allowed.reason);
          await eventStream.publishEvent(channel, { event: 'message', data: { from: request.user.sub, text: request.body.text } });
          return reply.code(202).send();
        },
      );
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      defer(() => app.close());
      return {
        base,
        eventStream,
        credentials: async (user) => ({ authorization: `Bearer ${app.jwt.sign({ sub: user }, { expiresIn: '5m' })}` }),
      };
    },
    { status: 401, body: /No Authorization was found in request\.headers/ },
  );
});
