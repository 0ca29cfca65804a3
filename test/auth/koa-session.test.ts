import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Router, { type RouterContext } from '@koa/router';
import Koa from 'koa';
import session from 'koa-session';
import { afterEach, describe } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { MEMBERS, mayListen, perUserStreamTests, type AuthApp } from './scenario.js';

// The per-user stream behind koa-session's cookie login on Koa 3: an auth middleware puts the
// session's user on `ctx.state.user`, and the channel function and `authorize` read it from
// the Koa context they receive.

afterEach(runCleanups);

interface AppState {
  user?: string;
}
type AppContext = RouterContext<AppState>;

function build(eventStream: EventStream): Koa<AppState> {
  const app = new Koa<AppState>();
  app.keys = ['test key'];
  app.use(session({ signed: true }, app as unknown as Koa));
  // The usual auth middleware: whoever the session says, on ctx.state for what follows.
  app.use(async (ctx, next) => {
    const user = ctx.session?.user;
    if (typeof user === 'string') ctx.state.user = user;
    await next();
  });
  const router = new Router<AppState>();

  router.post('/login', async (ctx) => {
    const name = String((await json(ctx)).user);
    if (MEMBERS[name] === undefined) return void (ctx.status = 401);
    ctx.session!.user = name;
    ctx.status = 204;
  });

  router.get(
    '/me/events',
    eventStream.koa((ctx: AppContext) => {
      if (ctx.state.user === undefined) ctx.throw(401, 'log in to listen to your events');
      return `user-${ctx.state.user}`;
    }),
  );
  router.get('/rooms/:room/events', eventStream.koa('room-{room}'));

  router.post('/rooms/:room/messages', async (ctx) => {
    const channel = `room-${ctx.params.room}`;
    const allowed = mayListen(ctx.state.user, [channel]);
    if (allowed !== true) ctx.throw(allowed === false ? 403 : allowed.status, allowed === false ? 'forbidden' : allowed.reason);
    const { text } = (await json(ctx)) as { text: string };
    await eventStream.publishEvent(channel, { event: 'message', data: { from: ctx.state.user, text } });
    ctx.status = 202;
  });
  app.use(router.routes());
  return app;
}

async function json(ctx: Koa.Context): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of ctx.req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('koa + koa-session (cookie login, ctx.state.user)', () => {
  perUserStreamTests(
    async (): Promise<AuthApp> => {
      const eventStream = track(
        new EventStream({
          // Koa routes hand hooks the Koa context.
          authorize: (ctx: AppContext, channels) => mayListen(ctx.state.user, channels),
        }),
      );
      const server = build(eventStream).listen(0, '127.0.0.1');
      defer(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });
      await once(server, 'listening');
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return {
        base,
        eventStream,
        async credentials(user) {
          const res = await fetch(`${base}/login`, { method: 'POST', body: JSON.stringify({ user }), signal: AbortSignal.timeout(5000) });
          if (res.status !== 204) throw new Error(`login as ${user} answered ${res.status}`);
          return { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
        },
      };
    },
    // A channel function's `ctx.throw(401, ...)` goes to Koa's own error handling.
    { status: 401, body: /^log in to listen to your events$/ },
  );
});
