// Strict TypeScript in a CommonJS file: resolves the `require` condition's declarations.
import { ChannelWritable, EventStream } from 'gripstream';

const eventStream = new EventStream<{ tick: number }>();
const writable: ChannelWritable<{ tick: number }> = eventStream.createChannelWritable('clock');
writable.write({ event: 'tick', data: 1 });
// @ts-expect-error data is a number
writable.write({ event: 'tick', data: '1' });
export = eventStream;
