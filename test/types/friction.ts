/**
 * Compile-time tests of the public types (checked by `tsc -p tsconfig.json`, part of
 * `npm test`; nothing here runs). Each `@ts-expect-error` is a mistake the types must catch:
 * if it stopped being an error, tsc fails on the unused directive.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import express4 from 'express4';
import {
  ClosedError,
  EventStream,
  GripPublishError,
  GripstreamError,
  HistoryError,
  InvalidChannelError,
  InvalidConfigError,
  InvalidEventError,
  type ServerSentEvent,
} from '../../src/index.js';

const eventStream = new EventStream();

// A channel builder typed with the framework's request is accepted, and the handler it makes
// takes that request.
const app = express();
app.get('/users/:id/events', eventStream((req: express.Request) => `user-${String(req.params.id)}`));
app.get('/rooms/:id/events', eventStream.route((req: express.Request) => ['news', `room-${String(req.params.id)}`]));
app.get('/plain', eventStream((req) => [req.url ?? 'root'])); // untyped: the node request
app.get('/async/:id', eventStream(async (req: express.Request) => [`room-${String(req.params.id)}`] as const));
const app4 = express4();
app4.get('/events/:id', eventStream((req: express4.Request) => `room-${req.params.id}`));

// Plain node:http builders keep working.
http.createServer(eventStream((req: IncomingMessage) => req.url ?? 'root'));
http.createServer(eventStream('news'));
http2.createSecureServer({}, eventStream((req: http2.Http2ServerRequest) => req.authority));
// @ts-expect-error node:http does not pass an express.Request to a builder that needs one
http.createServer(eventStream((req: express.Request) => String(req.params.id)));
// @ts-expect-error a builder returns channel names
eventStream((req: IncomingMessage) => req.headers.length);

// Readonly arrays go wherever channel or event lists go.
const channels = ['news', 'alerts'] as const;
const events: readonly ServerSentEvent[] = [{ event: 'a', data: 1 }];
eventStream(channels);
eventStream.koa(channels);
eventStream((_req) => channels);
http.createServer((req, res) => void eventStream.run(req, res, channels));
void eventStream.publishEvents('news', events);
void eventStream.getChannelPublisher('news').publishEvents(events);
void eventStream.getChannelPublisher('news').publishEvents([{ event: 'a' }] as const);

// The Writable takes events, and still fits pipeline() and pipe().
const writable = eventStream.createChannelWritable('news');
writable.write({ event: 'message', data: { text: 'hi' } });
writable.write({ event: 'message' }, () => undefined);
// @ts-expect-error not an event
writable.write(12345);
// @ts-expect-error not an event (a string is bytes to a Writable, not an SSE event)
writable.write('message');
// @ts-expect-error an event has a name
writable.write({ data: 1 });
writable.end();
writable.end({ event: 'last' });
// @ts-expect-error not an event
writable.end(12345);
void pipeline(Readable.from(events), eventStream.createChannelWritable('news'));
Readable.from(events).pipe(eventStream.getChannelPublisher('news').createWritable());

// Each error class narrows `code` to its own literal.
declare const err: unknown;
if (err instanceof HistoryError) {
  const code: 'ERR_HISTORY' = err.code;
  // @ts-expect-error a HistoryError's code is never ERR_CLOSED
  const wrong: 'ERR_CLOSED' = err.code;
  void [code, wrong];
}
if (err instanceof InvalidEventError) err.code satisfies 'ERR_INVALID_EVENT';
if (err instanceof InvalidChannelError) err.code satisfies 'ERR_INVALID_CHANNEL';
if (err instanceof InvalidConfigError) err.code satisfies 'ERR_INVALID_CONFIG';
if (err instanceof GripPublishError) err.code satisfies 'ERR_GRIP_PUBLISH';
if (err instanceof ClosedError) err.code satisfies 'ERR_CLOSED';
if (err instanceof GripstreamError) {
  // The base class keeps the whole union.
  // @ts-expect-error any code, not one
  err.code satisfies 'ERR_HISTORY';
}
