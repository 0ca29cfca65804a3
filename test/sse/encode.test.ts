import { createParser, type EventSourceMessage } from 'eventsource-parser';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEvent, EventStream, GripstreamError, InvalidEventError, type SseFields } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { prng } from '../support/resume-helpers.js';
import { startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// encodeEvent against an independent SSE parser (eventsource-parser): whatever we frame must
// parse back to the same event. SSE joins data lines with LF, so CR and CRLF inside data come
// back as LF: that is the protocol, not a loss we could avoid (JSON-encoded data never has them).

afterEach(runCleanups);

const PIECES = [
  'a', 'b', 'z', '0', '9', ' ', '  ', ':', ': ', 'data:', 'event:', 'id:', 'retry:', '{', '}', '"',
  '\\', '\t', 'é', 'ü', '中', '文', '🎉', '👩‍👩‍👧', '\u2028', '\u00a0', '\uFEFF', 'x y', '\u0000',
];
const BREAKS = ['\n', '\r', '\r\n', '\n\n', '\r\r', '\r\n\r\n', '\n\r'];

function randomText(next: () => number, maxPieces: number, withBreaks: boolean, withNul = true): string {
  const n = Math.floor(next() * (maxPieces + 1));
  let text = '';
  for (let i = 0; i < n; i++) {
    if (withBreaks && next() < 0.2) text += BREAKS[Math.floor(next() * BREAKS.length)]!;
    else {
      const piece = PIECES[Math.floor(next() * PIECES.length)]!;
      if (!withNul && piece === '\u0000') continue;
      text += piece;
    }
  }
  if (next() < 0.15) text = ' '.repeat(1 + Math.floor(next() * 3)) + text; // leading spaces
  return text;
}

function parseAll(stream: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  parser.feed(stream);
  return events;
}

function normaliseBreaks(data: string): string {
  return data.replace(/\r\n|\r|\n/g, '\n');
}

describe('encodeEvent framing round trip', () => {
  it('3,000 seeded random events parse back to the same event, id and data', () => {
    const next = prng(0x5eed);
    const fields: SseFields[] = [];
    for (let i = 0; i < 3000; i++) {
      const f: SseFields = { data: randomText(next, 12, true) };
      if (next() < 0.8) f.event = randomText(next, 4, false, false) || 'e';
      if (next() < 0.6) f.id = randomText(next, 4, false, false) || String(i);
      if (i % 97 === 0) f.data = '';
      fields.push(f);
    }
    const stream = fields.map((f) => encodeEvent(f)).join('');
    const parsed = parseAll(stream);
    expect(parsed).toHaveLength(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const p = parsed[i]!;
      const expected = { event: f.event || undefined, id: f.id, data: normaliseBreaks(f.data ?? '') };
      const got = { event: p.event, id: p.id, data: p.data };
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new Error(`event #${i} ${JSON.stringify(f)} parsed as ${JSON.stringify(p)}`);
      }
    }
  });

  it('the same events survive being fed to the parser in random small pieces', () => {
    const next = prng(42);
    const fields: SseFields[] = Array.from({ length: 500 }, (_, i) => ({
      event: `e${i}`,
      id: `id-${i}`,
      data: randomText(next, 10, true),
    }));
    const stream = fields.map((f) => encodeEvent(f)).join('');
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    for (let at = 0; at < stream.length; ) {
      const size = 1 + Math.floor(next() * 7);
      parser.feed(stream.slice(at, at + size));
      at += size;
    }
    expect(events.map((e) => [e.event, e.id, e.data])).toEqual(
      fields.map((f) => [f.event, f.id, normaliseBreaks(f.data!)]),
    );
  });

  it.each([
    ['empty data', ''],
    ['a single LF', '\n'],
    ['a single CR', '\r'],
    ['a single CRLF', '\r\n'],
    ['trailing LF', 'x\n'],
    ['leading LF', '\nx'],
    ['leading spaces', '   indented'],
    ['only spaces', '   '],
    ['a line that looks like a field', 'x\nevent: hijack\nid: 666'],
    ['a comment-looking line', 'x\n: not a comment'],
    ['unicode', 'ünïcødé ✓ 🎉 中文'],
    ['JSON', JSON.stringify({ text: 'a\nb', n: [1, 2] })],
  ])('data with %s', (_what, data) => {
    const [event] = parseAll(encodeEvent({ event: 'm', data, id: '7' }));
    expect(event).toEqual({ event: 'm', id: '7', data: normaliseBreaks(data) });
  });

  it('one data: line per line of data, and a blank line at the end', () => {
    expect(encodeEvent({ event: 'm', data: 'a\r\nb\rc\nd' })).toBe('event: m\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeEvent({ data: '' })).toBe('data: \n\n');
    expect(encodeEvent({ id: '1', event: 'x', data: 'y' })).toBe('id: 1\nevent: x\ndata: y\n\n');
  });

  it('without an event name the client sees a default "message" event', () => {
    const [event] = parseAll(encodeEvent({ data: 'plain' }));
    expect(event?.event).toBeUndefined();
    expect(event?.data).toBe('plain');
  });

  it('retry is framed and parsed as a reconnection time', () => {
    const retries: number[] = [];
    createParser({ onEvent: () => {}, onRetry: (r) => retries.push(r) }).feed(encodeEvent({ retry: 1500, data: 'x' }));
    expect(retries).toEqual([1500]);
  });

  it.each([
    ['event with LF', { event: 'a\nb' }],
    ['event with CR', { event: 'a\rb' }],
    ['event with NUL', { event: 'a\0b' }],
    ['id with LF', { id: 'a\nb' }],
    ['id with CR', { id: 'a\rb' }],
    ['id with NUL', { id: 'a\0b' }],
    ['negative retry', { retry: -1 }],
    ['fractional retry', { retry: 1.5 }],
  ])('refuses %s with InvalidEventError', (_what, fields) => {
    let caught: unknown;
    try {
      encodeEvent({ data: 'x', ...fields });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidEventError);
    expect(caught).toBeInstanceOf(GripstreamError);
    expect((caught as InvalidEventError).code).toBe('ERR_INVALID_EVENT');
  });
});

describe('framing through a real server and EventSource client', () => {
  it('500 seeded random payloads arrive as exactly JSON.stringify(data), with their event names and ids', async () => {
    const es = track(new EventStream());
    const app = express();
    app.get('/e', es('r'));
    const { url } = await startApp(app);
    const next = prng(7);
    const names = ['alpha', 'beta', 'gamma'];
    const client = await connectSse(`${url}/e`, { types: names });
    const sent = Array.from({ length: 500 }, (_, i) => ({
      event: names[i % names.length]!,
      id: i % 3 === 0 ? `custom ${i} ✓` : undefined,
      data: i % 5 === 0 ? { text: randomText(next, 10, true), n: i } : randomText(next, 10, true),
    }));
    for (const event of sent) await es.publishEvent('r', event);
    await client.until((ev) => ev.length >= sent.length + 1, `${sent.length} events`);
    const got = client.events.slice(1);
    for (let i = 0; i < sent.length; i++) {
      const s = sent[i]!;
      const g = got[i]!;
      expect(g.type).toBe(s.event);
      expect(g.data).toBe(JSON.stringify(s.data));
      if (s.id !== undefined) expect(g.lastEventId).toBe(s.id);
      else expect(g.lastEventId).not.toBe('');
    }
  });
});
