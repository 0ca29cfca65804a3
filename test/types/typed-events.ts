/**
 * Compile-time tests of typed event maps (checked by `tsc -p tsconfig.json`, part of
 * `npm test`; nothing here runs). Each `@ts-expect-error` is a mistake the map must catch.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import {
  ChannelPublisher,
  ChannelWritable,
  EventStream,
  getEventStreamSingleton,
  type EventOf,
  type ServerSentEvent,
} from '../../src/index.js';

type ChatEvents = {
  message: { text: string; from: string };
  typing: { from: string };
  cleared: undefined;
  seen?: number;
};

const chat = new EventStream<ChatEvents>();

// publishEvent
void chat.publishEvent('room-1', { event: 'message', data: { text: 'hi', from: 'ann' } });
void chat.publishEvent('room-1', { event: 'typing', data: { from: 'ann' }, id: 'typing-1' });
void chat.publishEvent('room-1', { event: 'cleared' }); // data may be left out where it may be undefined
void chat.publishEvent('room-1', { event: 'seen' });
// @ts-expect-error typing's data has no text, and needs from
void chat.publishEvent('room-1', { event: 'typing', data: { text: 'hi' } });
// @ts-expect-error not an event of the map
void chat.publishEvent('room-1', { event: 'joined', data: {} });
// @ts-expect-error message needs its data
void chat.publishEvent('room-1', { event: 'message' });
// @ts-expect-error cleared carries no data
void chat.publishEvent('room-1', { event: 'cleared', data: 1 });

// publishEvents
void chat.publishEvents('room-1', [{ event: 'typing', data: { from: 'bo' } }, { event: 'cleared' }]);
// @ts-expect-error one event of the batch is wrong
void chat.publishEvents('room-1', [{ event: 'typing', data: { from: 'bo' } }, { event: 'message', data: 'hi' }]);

// getChannelPublisher keeps the map
const room: ChannelPublisher<ChatEvents> = chat.getChannelPublisher('room-1');
void room.publishEvent({ event: 'message', data: { text: 'hi', from: 'ann' } });
// @ts-expect-error a typo in the name
void room.publishEvent({ event: 'mesage', data: { text: 'hi', from: 'ann' } });
// @ts-expect-error from must be a string
void room.publishEvents([{ event: 'typing', data: { from: 1 } }]);

// createChannelWritable (and the publisher's) keeps the map, and still fits pipeline()
const writable: ChannelWritable<ChatEvents> = chat.createChannelWritable('room-1');
writable.write({ event: 'typing', data: { from: 'ann' } });
// @ts-expect-error not an event of the map
writable.write({ event: 'joined' });
// @ts-expect-error the writable of a publisher too
room.createWritable().write({ event: 'typing', data: {} });
const typed: readonly EventOf<ChatEvents>[] = [{ event: 'cleared' }];
void pipeline(Readable.from(typed), chat.createChannelWritable('room-1'));

// getEventStreamSingleton<E>() (called or with `new`)
const shared = getEventStreamSingleton<ChatEvents>();
void shared.publishEvent('room-1', { event: 'cleared' });
// @ts-expect-error typed through the singleton
void shared.publishEvent('room-1', { event: 'typing', data: { text: 'hi' } });
const sharedNew = new getEventStreamSingleton<ChatEvents>({}, 'chat');
// @ts-expect-error typed through `new` too
void sharedNew.getChannelPublisher('a').publishEvent({ event: 'nope' });

// Still callable, still an EventStream: the constructor returns a function.
const app = express();
app.get('/rooms/:id/events', chat('room-{id}'));
app.get('/rooms/:id/all', chat.route((req: express.Request) => [`room-${String(req.params.id)}`, 'lobby']));
chat satisfies EventStream<ChatEvents>;

// An interface works as a map too.
interface Ticks {
  tick: number;
}
const ticks = new EventStream<Ticks>();
void ticks.publishEvent('clock', { event: 'tick', data: 1 });
// @ts-expect-error data is a number
void ticks.publishEvent('clock', { event: 'tick', data: '1' });
// @ts-expect-error an event map is an object type
new EventStream<string>();

// Without a map: any name, any data, as before.
const loose = new EventStream();
void loose.publishEvent('news', { event: 'anything', data: { any: ['thing'] } });
void loose.publishEvent('news', { event: 'no-data' });
const anyEvent: ServerSentEvent = { event: 'x', data: 1n };
loose.createChannelWritable('news').write(anyEvent);
void getEventStreamSingleton().getChannelPublisher('news').publishEvent(anyEvent);
// @ts-expect-error an event still needs a name
void loose.publishEvent('news', { data: 1 });

// A typed instance is not an untyped one: through that, any event could be published. A helper
// that takes either kind is generic.
// @ts-expect-error the map would be lost
export const asLoose: EventStream = chat;
function mount<E extends object>(eventStream: EventStream<E>): void {
  app.get('/mounted', eventStream('mounted'));
}
mount(chat);
mount(loose);
