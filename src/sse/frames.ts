import { encodeComment, encodeEvent } from './encode.js';

/** Frames every stream shares; encoded once at load, written as-is. */

/** First event of every stream, as `@fanoutio/eventstream` sends it. */
export const STREAM_OPEN = encodeEvent({ event: 'stream-open', data: '' });

export const KEEP_ALIVE = encodeComment('keep-alive');
