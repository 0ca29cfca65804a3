import express from 'express';
import express4 from 'express4';
import session from 'express-session';
import passport from 'passport';
import { afterEach, describe } from 'vitest';
import { EventStream, StreamRefusedError } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { startApp } from '../support/server.js';
import { MEMBERS, mayListen, perUserStreamTests, type AuthApp } from './scenario.js';

// The per-user stream behind Passport's session login on Express 5 and Express 4: the channel
// function and `authorize` read `req.user`, which Passport set from the session cookie.

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface User {
      name: string;
    }
  }
}

afterEach(runCleanups);

/** Passport keeps the user's name in the session; the name is the whole user here. */
passport.serializeUser<string>((user, done) => done(null, user.name));
passport.deserializeUser<string>((name, done) => done(null, { name }));

// Express 4's types differ from 5's; at run time both take the same calls.
function build(app: express.Express, eventStream: EventStream): void {
  app.use(express.json());
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
  app.use(passport.session());

  // A real app checks a password here; the login itself is Passport's.
  app.post('/login', (req: express.Request, res: express.Response, next: express.NextFunction) => {
    const name = String((req.body as { user?: unknown }).user);
    if (MEMBERS[name] === undefined) return void res.sendStatus(401);
    req.login({ name }, (err) => (err ? next(err) : res.sendStatus(204)));
  });

  app.get(
    '/me/events',
    eventStream((req: express.Request) => {
      if (req.user === undefined) throw new StreamRefusedError(401, 'log in to listen to your events');
      return `user-${req.user.name}`;
    }),
  );
  app.get('/rooms/:room/events', eventStream('room-{room}'));

  app.post('/rooms/:room/messages', async (req: express.Request, res: express.Response) => {
    const channel = `room-${String(req.params.room)}`;
    const allowed = mayListen(req.user?.name, [channel]);
    if (allowed !== true) return void res.status(allowed === false ? 403 : allowed.status).send(allowed === false ? '' : allowed.reason);
    await eventStream.publishEvent(channel, { event: 'message', data: { from: req.user!.name, text: (req.body as { text: string }).text } });
    res.sendStatus(202);
  });
}

for (const [name, create] of [
  ['express 5', () => express()],
  ['express 4', () => express4() as unknown as express.Express],
] as const) {
  describe(`${name} + passport (session login)`, () => {
    perUserStreamTests(
      async (): Promise<AuthApp> => {
        const eventStream = track(
          new EventStream({
            // Express hands hooks its own request: Passport's `req.user` is there.
            authorize: (req: express.Request, channels) => mayListen(req.user?.name, channels),
          }),
        );
        const app = create();
        build(app, eventStream);
        const { url } = await startApp(app);
        return {
          base: url,
          eventStream,
          async credentials(user) {
            const res = await fetch(`${url}/login`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ user }),
              signal: AbortSignal.timeout(5000),
            });
            if (res.status !== 204) throw new Error(`login as ${user} answered ${res.status}`);
            return { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
          },
        };
      },
      { status: 401, body: /^log in to listen to your events\n$/ },
    );
  });
}
