import Router, { type RouterContext } from '@koa/router';
import Koa from 'koa';
import session from 'koa-session';
import type { EventStream } from '../../src/index.js';
import { MEMBERS, mayListen } from './scenario.js';

/**
 * The Koa app of the per-user scenario (see scenario.ts), behind koa-session's cookie login:
 * an auth middleware puts the session's user on `ctx.state.user`, where the channel function
 * and `authorize` read it from the Koa context they receive. Shared by the Node-client test
 * and the Chromium one.
 */
export interface AppState {
  user?: string;
}
export type AppContext = RouterContext<AppState>;

export function build(eventStream: EventStream): Koa<AppState> {
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
