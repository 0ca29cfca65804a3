import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { build, type AppContext } from './koa-session-app.js';
import { mayListen, perUserStreamTests, type AuthApp } from './scenario.js';

// The per-user stream behind koa-session's cookie login on Koa 3: an auth middleware puts the
// session's user on `ctx.state.user`, and the channel function and `authorize` read it from
// the Koa context they receive.

afterEach(runCleanups);

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
