/**
 * Compile-time: channel functions and hooks are typed with each framework's own request
 * (issue 23). Checked by `tsc -p tsconfig.json`; nothing here runs. Each `@ts-expect-error`
 * is a mistake the types must catch.
 */
import type { IncomingMessage } from 'node:http';
import Router, { type RouterContext } from '@koa/router';
import express from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono, type Context } from 'hono';
import type Koa from 'koa';
import { EventStream, StreamRefusedError, type AuthorizeResult, type FrameworkRequest } from '../../src/index.js';

const eventStream = new EventStream();

// Fastify: a channel function typed with FastifyRequest compiles (it was TS2769), route
// generics included, and the handler mounts.
const fastify = Fastify();
fastify.get('/a', eventStream.fastify((request: FastifyRequest) => `user-${request.id}`));
fastify.get<{ Params: { room: string } }>(
  '/rooms/:room',
  eventStream.fastify((request: FastifyRequest<{ Params: { room: string } }>) => `room-${request.params.room}`),
);
fastify.get('/plain', eventStream.fastify('news'));
// @ts-expect-error a Fastify route's channel function gets the Fastify request, not node's
fastify.get('/raw', eventStream.fastify((req: IncomingMessage & { log: undefined }) => req.url ?? ''));

// Koa: the context, with its state typed by the app.
interface State {
  user?: { id: string };
}
const router = new Router<State>();
router.get('/me', eventStream.koa((ctx: RouterContext<State>) => `user-${ctx.state.user?.id ?? ''}`));
router.get('/p', eventStream.koa((ctx: Koa.ParameterizedContext<State>) => `user-${ctx.state.user?.id ?? ''}`));
router.get('/untyped', eventStream.koa((ctx) => String(ctx.headers['x-user'])));
// @ts-expect-error a Koa route's channel function gets the Koa context, not an express.Request
router.get('/x', eventStream.koa((req: express.Request) => String(req.params.id)));

// Hono: the context, variables included.
const hono = new Hono<{ Variables: { user: string } }>();
hono.get('/me', eventStream.hono((c: Context<{ Variables: { user: string } }>) => `user-${c.get('user')}`));
hono.get('/rooms/:id', eventStream.hono('room-{id}'));

// Hooks may be typed with the one framework an EventStream serves (their parameters are
// checked bivariantly), or take the union and narrow.
new EventStream({ authorize: (ctx: Koa.Context) => ctx.state.user !== undefined });
new EventStream({ authorize: (request: FastifyRequest, channels) => channels.length > 0 && request.id !== '' });
new EventStream({ authorize: (req: express.Request): AuthorizeResult => (req.user ? true : { status: 401, reason: 'log in' }) });
new EventStream({ authorize: async (req: FrameworkRequest) => req instanceof Request });
// @ts-expect-error a refusal's status is 401 or 403
new EventStream({ authorize: () => ({ status: 500, reason: 'x' }) });
// @ts-expect-error a refusal has a reason
new EventStream({ authorize: () => ({ status: 401 }) });
new EventStream({ onRefused: ({ status, reason, channels }) => void [status, reason.length, channels?.length] });
// @ts-expect-error StreamRefusedError takes 401 or 403
void new StreamRefusedError(400, 'bad');

// Express keeps its request (the reference's API, unchanged).
express().get('/e/:id', eventStream((req: express.Request) => `user-${String(req.params.id)}`));
