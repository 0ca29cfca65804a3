import { describe, expect, it } from 'vitest';
import { decodeCursor, emptyAt, StreamCursor, UNKNOWN_POSITION } from '../../src/history/streamCursor.js';
import { eventIdProblem, MAX_EVENT_ID_LENGTH } from '../../src/sse/eventId.js';

// The Last-Event-ID of a multi-channel stream on a Redis Cluster (src/history/streamCursor.ts).

describe('stream cursor id', () => {
  const channels = ['b', 'a', 'c'];

  it('round-trips every channel position, whatever the order the channels are named in', () => {
    const cursor = new StreamCursor(channels, new Map([['a', 1764000000000001], ['b', 0], ['c', 1764000000999999]]));
    expect(cursor.advance('b', 1764000000500000)).toBe(true);
    expect(cursor.advance('a', 1764000000000001)).toBe(false);
    const id = cursor.id();
    expect(eventIdProblem(id)).toBeUndefined();
    expect(decodeCursor(id, ['c', 'b', 'a'])).toEqual(
      new Map([['a', 1764000000000001], ['b', 1764000000500000], ['c', 1764000000999999]]),
    );
  });

  it('keeps position 0, an empty channel (as of a position) and an unknown one apart', () => {
    const cursor = new StreamCursor(channels, new Map([['a', 0], ['b', 1764000000000005], ['c', emptyAt(1764000000000001)]]));
    expect(decodeCursor(cursor.id(), channels)).toEqual(new Map([['a', 0], ['b', 1764000000000005], ['c', emptyAt(1764000000000001)]]));
    expect(decodeCursor(new StreamCursor(channels).id(), channels)).toEqual(new Map(channels.map((c) => [c, UNKNOWN_POSITION])));
    // An empty channel takes any event it gets later.
    expect(cursor.advance('c', 1)).toBe(true);
    expect(cursor.advance('c', 1)).toBe(false);
  });

  it('stays a valid id within 2048 characters for 100 channels at the largest positions', () => {
    const wide = Array.from({ length: 100 }, (_, i) => `channel-with-a-long-name-${i}`);
    const positions = new Map(wide.map((channel, i) => [channel, i % 3 === 0 ? 1 : i % 3 === 1 ? emptyAt(Number.MAX_SAFE_INTEGER - 2 - i) : Number.MAX_SAFE_INTEGER - i]));
    const id = new StreamCursor(wide, positions).id();
    expect(id.length).toBeLessThanOrEqual(MAX_EVENT_ID_LENGTH);
    expect(eventIdProblem(id)).toBeUndefined();
    expect(decodeCursor(id, wide)).toEqual(positions);
  });

  it('is not a cursor of another channel set, nor a plain or garbled id', () => {
    const id = new StreamCursor(channels, new Map([['a', 7], ['b', 8], ['c', 9]])).id();
    expect(decodeCursor(id, ['a', 'b'])).toBeUndefined();
    expect(decodeCursor(id, ['a', 'b', 'd'])).toBeUndefined();
    expect(decodeCursor('1764000000000000', channels)).toBeUndefined();
    expect(decodeCursor(`${id}.1`, channels)).toBeUndefined();
    expect(decodeCursor(id.replace(/\.[0-9a-z]+$/, '.zzzzzzzzzzzz'), channels)).toBeUndefined();
    expect(decodeCursor(id.replace(/\.[0-9a-z]+$/, '.-1'), channels)).toBeUndefined();
  });
});
