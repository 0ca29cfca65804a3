import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { jwt, sign } from 'hono/jwt';
import { afterEach, describe } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { mayListen, perUserStreamTests, type AuthApp } from './scenario.js';

// The per-user stream behind Hono's JWT middleware, reading the token from an HttpOnly cookie
// (what an EventSource sends by itself): the channel function and `authorize` read
// `c.get('jwtPayload')` from the Hono context they receive (`eventStream.hono()`).

afterEach(runCleanups);

const SECRET = 'a test secret of enough length';

interface Env {
  Variables: { jwtPayload: { sub: string } };
}

function userOf(c: Context<Env>): string {
  return c.get('jwtPayload').sub;
}

describe('hono + hono/jwt (token in a cookie, c.get("jwtPayload"))', () => {
  perUserStreamTests(
    async (): Promise<AuthApp> => {
      const eventStream = track(
        new EventStream({
          // Hono routes hand hooks the Hono context.
          authorize: (c: Context<Env>, channels) => mayListen(userOf(c), channels),
        }),
      );
      const app = new Hono<Env>();
      app.use('*', jwt({ secret: SECRET, alg: 'HS256', cookie: 'session' }));
      app.get('/me/events', eventStream.hono((c: Context<Env>) => `user-${userOf(c)}`));
      app.get('/rooms/:room/events', eventStream.hono('room-{room}'));
      app.post('/rooms/:room/messages', async (c) => {
        const channel = `room-${c.req.param('room')}`;
        const allowed = mayListen(userOf(c), [channel]);
        if (allowed !== true) return c.text(allowed === false ? '' : allowed.reason, allowed === false ? 403 : allowed.status);
        const { text } = await c.req.json<{ text: string }>();
        await eventStream.publishEvent(channel, { event: 'message', data: { from: userOf(c), text } });
        return c.body(null, 202);
      });
      const server = createAdaptorServer({ fetch: app.fetch }) as Server;
      server.listen(0, '127.0.0.1');
      defer(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });
      await once(server, 'listening');
      return {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        eventStream,
        credentials: async (user) => ({
          cookie: `session=${await sign({ sub: user, exp: Math.floor(Date.now() / 1000) + 300 }, SECRET, 'HS256')}`,
        }),
      };
    },
    { status: 401, body: /./ },
  );
});
