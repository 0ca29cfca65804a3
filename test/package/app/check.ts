// Strict TypeScript in an ESM app, declarations checked (skipLibCheck: false), no ioredis.
import express from 'express';
import { EventStream, HistoryError, getEventStreamSingleton, type RedisClientLike } from 'gripstream';

type ChatEvents = { message: { text: string }; cleared: undefined };
const chat = new EventStream<ChatEvents>({ history: { maxEvents: 10 } });
const app = express();
app.get('/rooms/:id/events', chat((req: express.Request) => `room-${String(req.params.id)}`));
await chat.publishEvent('room-1', { event: 'message', data: { text: 'hi' } });
await chat.getChannelPublisher('room-1').publishEvents([{ event: 'cleared' }] as const);
// @ts-expect-error the event map is checked in the installed package too
await chat.publishEvent('room-1', { event: 'message', data: { txt: 'hi' } });
// @ts-expect-error the Writable takes events
chat.createChannelWritable('room-1').write(12345);

declare const client: RedisClientLike;
new EventStream({ history: { redis: client } });
new EventStream({ history: { redis: 'redis://127.0.0.1:6379' } });

const err: unknown = new HistoryError('down', undefined);
if (err instanceof HistoryError) err.code satisfies 'ERR_HISTORY';
getEventStreamSingleton<ChatEvents>() satisfies EventStream<ChatEvents>;

// The edge entry's ESM declarations: a GRIP-only stream for web-standard runtimes.
import { EdgeEventStream, StreamRefusedError as EdgeRefused } from 'gripstream/edge';
const edge = new EdgeEventStream<ChatEvents>({ grip: 'http://127.0.0.1:5561/', authorize: () => ({ status: 401, reason: 'log in' }) });
void edge.fetch(new Request('http://x/'), 'room-{id}');
void edge.publishEvent('room-1', { event: 'message', data: { text: 'hi' } });
new EdgeRefused(403, 'no') satisfies Error;
