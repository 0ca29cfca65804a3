/**
 * The load client's only source of truth is this parser pair, so it is tested on the
 * wire formats of every implementation, split at every possible byte boundary.
 */
import { describe, expect, it } from 'vitest';
import { HttpResponseReader } from './http-response.ts';
import { SseEventCounter } from './sse-counter.ts';

function chunked(parts: string[]): string {
  const frames = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`);
  return frames.join('');
}

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';

// One body per library's framing; each contains exactly 3 `b` events.
const BODIES: Record<string, string[]> = {
  reference: [
    'event: stream-open\ndata: \n\n',
    'event: b\ndata: {"n":0,"t":1.5}\n\n',
    'event: keep-alive\ndata: \n\n',
    'event: b\ndata: {"n":1,"t":2.5}\n\nevent: b\ndata: {"n":2,"t":3.5}\n\n',
  ],
  betterSse: [
    'retry:2000\n\n',
    'event:b\nid:6f1c\ndata:{"n":0,"t":1.5}\n\n',
    ':\n\n',
    'event:b\nid:6f1d\ndata:{"n":1,"t":2.5}\n\nevent:b\nid:6f1e\ndata:{"n":2,"t":3.5}\n\n',
  ],
  sseChannel: [
    ':ok\n\n',
    'event: b\ndata: {"n":0,"t":1.5}\n\n',
    ':\n',
    'event: b\ndata: {"n":1,"t":2.5}\n\n',
    'event: b\r\ndata: {"n":2,"t":3.5}\r\n\r\n',
  ],
};

function run(wire: Buffer, splitAt: number[]): { count: number; data: (string | undefined)[] } {
  const data: (string | undefined)[] = [];
  const counter = new SseEventCounter('b', true, (d) => data.push(d));
  const reader = new HttpResponseReader((buf, s, e) => counter.feed(buf, s, e));
  let from = 0;
  for (const at of [...splitAt, wire.length]) {
    reader.feed(wire.subarray(from, at));
    from = at;
  }
  expect(reader.error).toBeUndefined();
  return { count: counter.count, data };
}

describe('SseEventCounter over HttpResponseReader', () => {
  for (const [name, parts] of Object.entries(BODIES)) {
    it(`counts only complete 'b' events (${name}), at every split point`, () => {
      const wire = Buffer.from(HEAD + chunked(parts));
      for (let at = 0; at <= wire.length; at++) {
        const { count, data } = run(wire, [at]);
        expect(count).toBe(3);
        expect(data.map((d) => JSON.parse(d!).t)).toEqual([1.5, 2.5, 3.5]);
      }
    });
  }

  it('keeps a data value that spans two HTTP chunks (Pushpin splits events so), at every split point', () => {
    const wire = Buffer.from(HEAD + chunked(['event: b\ndata: {"n":0,', '"t":1.5}\n\nevent: b\nda', 'ta: {"n":1,"t":2.5}\n\n']));
    for (let at = 0; at <= wire.length; at++) {
      const { count, data } = run(wire, [at]);
      expect(count).toBe(2);
      expect(data.map((d) => JSON.parse(d!).t)).toEqual([1.5, 2.5]);
    }
  });

  it('does not count an event whose terminator has not arrived', () => {
    const wire = Buffer.from(HEAD + chunked(['event: b\ndata: {"n":0}\n\nevent: b\ndata: {"n":1}\n']));
    expect(run(wire, []).count).toBe(1);
  });

  it('ignores other event names sharing a prefix with the wanted one', () => {
    const wire = Buffer.from(HEAD + chunked(['event: bb\ndata: x\n\nevent:\ndata: x\n\nevents: b\n\n']));
    expect(run(wire, []).count).toBe(0);
  });

  it('survives byte-by-byte delivery', () => {
    const wire = Buffer.from(HEAD + chunked(BODIES.reference!));
    const splits = Array.from({ length: wire.length - 1 }, (_, i) => i + 1);
    expect(run(wire, splits).count).toBe(3);
  });

  it('reads identity (non-chunked) bodies too', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n';
    const wire = Buffer.from(head + 'event: b\ndata: 1\n\n');
    expect(run(wire, [3]).count).toBe(1);
  });

  it('tracks the last event id as an EventSource would (gripstream and nchan formats), at every split point', () => {
    const parts = [
      'event: stream-open\ndata: \n\n',
      'event: b\nid: 17\ndata: {"n":0}\n\n',
      ': keep-alive\n\n',
      'event: b\nid: 1796159678:2\r\ndata: {"n":1}\n\n',
      'event: b\ndata: {"n":2}\n\n', // no id: the buffer keeps the previous one
    ];
    const wire = Buffer.from(HEAD + chunked(parts));
    for (let at = 0; at <= wire.length; at++) {
      const counter = new SseEventCounter('b', false, undefined, true);
      const reader = new HttpResponseReader((buf, s, e) => counter.feed(buf, s, e));
      reader.feed(wire.subarray(0, at));
      reader.feed(wire.subarray(at));
      expect(counter.count).toBe(3);
      expect(counter.lastId).toBe('1796159678:2');
    }
  });

  it('does not treat id-prefixed fields as ids, nor track ids unless asked', () => {
    const wire = Buffer.from(HEAD + chunked(['event: b\nidx: 5\ndata: 1\n\nevent: b\nid: 6\ndata: 2\n\n']));
    const tracked = new SseEventCounter('b', false, undefined, true);
    new HttpResponseReader((buf, s, e) => tracked.feed(buf, s, e)).feed(wire);
    expect(tracked.lastId).toBe('6');
    const untracked = new SseEventCounter('b', false);
    new HttpResponseReader((buf, s, e) => untracked.feed(buf, s, e)).feed(wire);
    expect([untracked.count, untracked.lastId]).toEqual([2, undefined]);
  });

  it('rejects a non-200 response', () => {
    const reader = new HttpResponseReader(() => undefined);
    reader.feed(Buffer.from('HTTP/1.1 406 Not Acceptable\r\nContent-Length: 0\r\n\r\n'));
    expect(reader.error).toBe('status 406');
  });
});
