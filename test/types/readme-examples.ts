/**
 * Compile-time: the examples of the reference's README (@fanoutio/eventstream 2.0.1) and of
 * ours still type-check with no event map, as user code in strict TypeScript. Checked by
 * `tsc -p tsconfig.json` (part of `npm test`); nothing here runs.
 */
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import Router from '@koa/router';
import { EventStream, getEventStreamSingleton, type StreamRequest } from '../../src/index.js';

const app = express();

export async function referenceReadme(): Promise<void> {
  const CHANNEL_NAME = 'test';
  const eventStream = new EventStream();
  app.get('/api/events', eventStream(CHANNEL_NAME));
  app.get('/api/events/:id', eventStream('{id}'));

  const nextStream = getEventStreamSingleton();
  const pagesRoute = nextStream(CHANNEL_NAME);
  const pagesRouteWithId = nextStream('{id}');
  void [pagesRoute, pagesRouteWithId];

  await eventStream.publishEvent(CHANNEL_NAME, { event: 'message', data: { name: 'John' } });
  const publisher = eventStream.getChannelPublisher('test');
  await publisher.publishEvent({ event: 'message', data: { name: 'Alice' } });
  await publisher.publishEvent({ event: 'message', data: { name: 'Bob' } });

  const writable = eventStream.createChannelWritable('test');
  writable.write({ event: 'message', data: { baz: ['hi', 'ho', 'hello'] } });
  writable.end();
  publisher.createWritable().end();

  const gripStream = new EventStream({ grip: process.env.GRIP_URL });
  void gripStream;

  app.get('/', async (req, res, next) => {
    if (req.headers['foo'] === 'bar') {
      try {
        await eventStream.run(req, res, ['test']);
      } catch (ex) {
        // The reference writes `new Error(ex)`, which strict TypeScript refuses for any library.
        next(ex instanceof Error ? ex : new Error(String(ex)));
      }
    } else {
      next();
    }
  });

  const eventStream1 = new getEventStreamSingleton({}, 'eventStream1');
  const eventStream2 = new getEventStreamSingleton({}, 'eventStream2');
  void [eventStream1, eventStream2];
}

declare function userOf(req: StreamRequest): string;
declare function roomsOf(user: string): string[];

export async function ourReadme(): Promise<void> {
  const eventStream = new EventStream();
  app.get('/events', eventStream('news'));
  app.get('/rooms/:id/events', eventStream('room-{id}'));
  app.post('/rooms/:id/messages', express.json(), async (req, res) => {
    await eventStream.publishEvent(`room-${req.params.id}`, { event: 'message', data: req.body });
    res.sendStatus(202);
  });

  eventStream('news');
  eventStream('news', 'alerts');
  eventStream(['news', 'alerts']);
  eventStream('user-{id}');
  eventStream((req) => ['news', `user-${userOf(req)}`]);
  eventStream(async (req) => roomsOf(await userOf(req)));
  app.get('/users/:id/events', eventStream((req: express.Request) => `user-${req.params.id}`));

  type ChatEvents = {
    message: { text: string; from: string };
    typing: { from: string };
    cleared: undefined;
  };
  const chat = new EventStream<ChatEvents>();
  await chat.publishEvent('room-1', { event: 'message', data: { text: 'hi', from: 'ann' } });
  await chat.publishEvent('room-1', { event: 'cleared' });
  // @ts-expect-error typing's data is { from }
  await chat.publishEvent('room-1', { event: 'typing', data: { text: 'hi' } });
  // @ts-expect-error not an event of the map
  await chat.publishEvent('room-1', { event: 'joined', data: {} });

  await eventStream.publishEvent('news', { event: 'message', data: { text: 'hi' } });
  await eventStream.publishEvent('news', { event: 'message', data: 1, id: 'order-17' });
  const news = eventStream.getChannelPublisher('news');
  await news.publishEvent({ event: 'message', data: 2 });
  await news.publishEvents([{ event: 'a', data: 1 }, { event: 'b', data: 2 }]);
  const source = Readable.from([{ event: 'message', data: 3 }]);
  await pipeline(source, eventStream.createChannelWritable('news'));
  await pipeline(Readable.from([{ event: 'message', data: 4 }]), news.createWritable());

  http.createServer((req, res) => eventStream.run(req, res, ['news']));
  const router = new Router();
  router.get('/events/:id', eventStream.koa('{id}'));

  const handler = getEventStreamSingleton()('{id}');
  void handler;
  const GET = (request: Request): Promise<Response> => eventStream.fetch(request, 'news');
  void GET;

  const many = new EventStream({
    grip: process.env.GRIP_URL,
    history: { redis: process.env.REDIS_URL, maxEvents: 1000, maxAge: 5 * 60_000 },
    gripReliable: true,
  });
  void many;
}
