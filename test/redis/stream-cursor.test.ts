import { describe, expect, it } from 'vitest';
import { CursorReplay } from '../../src/redis/cursorReplay.js';
import type { HistoryRecord } from '../../src/history/HistoryStore.js';
import { decodeCursor, emptyAt, StreamCursor, UNKNOWN_POSITION } from '../../src/redis/streamCursor.js';
import { encodeEvent } from '../../src/sse/encode.js';
import { eventIdProblem, MAX_EVENT_ID_LENGTH } from '../../src/sse/eventId.js';

// The Last-Event-ID of a multi-channel stream on a Redis Cluster (src/redis/streamCursor.ts).

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

  it('encodes a replay a batch at a time as the client reads it, each event with the cursor at that point', () => {
    const base = 1764000000000000;
    const records: HistoryRecord[] = Array.from({ length: 300 }, (_, i) => ({
      seq: base + i,
      id: String(base + i),
      channel: channels[i % 3]!,
      event: 'message',
      data: `event ${i} `.repeat(5),
    }));
    const start = new StreamCursor(channels, new Map([['a', base - 3], ['b', emptyAt(base - 10)], ['c', 0]]));
    const final = start.clone();
    for (const record of records) final.advance(record.channel, record.seq);
    const eager = start.clone();
    const expected = 'notice\n\n' + records.map((r) => (eager.advance(r.channel, r.seq), encodeEvent({ event: r.event, data: r.data, id: eager.id() }))).join('');
    const replay = new CursorReplay('notice\n\n', records, start.clone(), final);
    const batches: string[] = [];
    for (let batch = replay.nextBatch(1000); batch !== undefined; batch = replay.nextBatch(1000)) batches.push(batch);
    // Paced: many batches, each within the asked size (an event alone may exceed it).
    expect(batches.length).toBeGreaterThan(30);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(1000);
    expect(batches.join('')).toBe(expected);
    // The live side goes on from where the whole replay ends.
    expect(replay.cursor.id()).toBe(eager.id());
  });
});
