// Strict TypeScript in a CommonJS file: resolves the `require` condition's declarations.
import { ChannelWritable, EventStream } from 'gripstream';
import { EdgeEventStream } from 'gripstream/edge';

// The edge entry resolves through the `require` condition too.
void new EdgeEventStream({ grip: 'http://127.0.0.1:5561/' }).fetch(new Request('http://x/'), 'news');

const eventStream = new EventStream<{ tick: number }>();
const writable: ChannelWritable<{ tick: number }> = eventStream.createChannelWritable('clock');
writable.write({ event: 'tick', data: 1 });
// @ts-expect-error data is a number
writable.write({ event: 'tick', data: '1' });
export = eventStream;
