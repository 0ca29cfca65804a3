/**
 * Framing fuzz. 120,000 generated events (seeded) go through `encodeEvent` and come back out
 * of eventsource-parser, both as JS strings and as UTF-8 bytes split at random offsets. Then a
 * few thousand random JSON values travel through a real server to the `eventsource` client.
 */
import { EventSource } from 'eventsource';
import { createParser } from 'eventsource-parser';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream, InvalidEventError, encodeEvent, type SseFields } from '../../src/index.js';
import { fieldText, int, pick, randomJson, randomText, type Random } from '../support/fuzz-gen.js';
import { listen, prng, SseClient, within, type TestServer } from '../support/resume-helpers.js';

const FUZZ_EVENTS = 120_000;

/** `String.prototype.toWellFormed` (Node 20; not in the ES2022 lib typings). */
const wellFormed = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();
const BATCH = 4_000;

type Item = { kind: 'retry'; retry: number } | { kind: 'event'; event: string | undefined; id: string | undefined; data: string };

interface Case {
  fields: SseFields;
  /** Why encodeEvent must refuse it, if it must. */
  invalid?: string;
}

const BAD_RETRIES = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0.5];

function makeCase(random: Random, i: number): Case {
  const mask = i % 16; // every combination of the four fields, evenly
  const fields: SseFields = {};
  let invalid: string | undefined;
  const field = (name: 'event' | 'id'): string => {
    const r = random();
    if (r < 0.08) return '';
    if (r < 0.12) {
      const bad = pick(random, ['\n', '\r', '\r\n', '\0']);
      const base = fieldText(random);
      const at = int(random, base.length + 1);
      invalid ??= `${name} holds ${JSON.stringify(bad)}`;
      return base.slice(0, at) + bad + base.slice(at);
    }
    return fieldText(random);
  };
  if (mask & 1) fields.event = field('event');
  if (mask & 2) fields.id = field('id');
  if (mask & 4) fields.data = randomText(random);
  if (mask & 8) {
    if (random() < 0.05) {
      fields.retry = pick(random, BAD_RETRIES);
      invalid ??= `retry ${fields.retry}`;
    } else {
      fields.retry = random() < 0.1 ? 0 : int(random, 1_000_000_000);
    }
  }
  return invalid === undefined ? { fields } : { fields, invalid };
}

/** What a spec-following parser must hand back for `fields`. */
function expectedItems(fields: SseFields, asBytes: boolean): Item[] {
  const fix = (s: string): string => (asBytes ? wellFormed(s) : s);
  const items: Item[] = [];
  if (fields.retry !== undefined) items.push({ kind: 'retry', retry: fields.retry });
  items.push({
    kind: 'event',
    event: fields.event === undefined || fields.event === '' ? undefined : fix(fields.event),
    id: fields.id === undefined ? undefined : fix(fields.id),
    // Every line break form becomes LF: that is what SSE can carry.
    data: fix((fields.data ?? '').replace(/\r\n|\r|\n/g, '\n')),
  });
  return items;
}

function parseAll(feed: (push: (chunk: string) => void) => void): Item[] {
  const items: Item[] = [];
  const errors: unknown[] = [];
  const parser = createParser({
    onEvent: (e) => items.push({ kind: 'event', event: e.event, id: e.id, data: e.data }),
    onRetry: (retry) => items.push({ kind: 'retry', retry }),
    onError: (err) => errors.push(err),
    onComment: () => errors.push(new Error('unexpected comment')),
  });
  feed((chunk) => parser.feed(chunk));
  if (errors.length > 0) throw new Error(`parser reported ${errors.length} errors, first: ${String(errors[0])}`);
  return items;
}

function firstDifference(got: Item[], want: Item[]): string | undefined {
  const length = Math.max(got.length, want.length);
  for (let i = 0; i < length; i++) {
    const a = JSON.stringify(got[i]);
    const b = JSON.stringify(want[i]);
    if (a !== b) return `item ${i}: got ${a?.slice(0, 300)} want ${b?.slice(0, 300)}`;
  }
  return undefined;
}

describe('encodeEvent ↔ eventsource-parser', () => {
  it(`${FUZZ_EVENTS.toLocaleString('en')} random events round-trip with zero differences`, () => {
    const random = prng(0x5eed);
    const counts = { valid: 0, rejected: 0, retries: 0, multiline: 0, loneSurrogates: 0, nul: 0, long: 0, emptyData: 0, combos: new Set<number>() };
    const differences: string[] = [];
    for (let start = 0; start < FUZZ_EVENTS; start += BATCH) {
      const frames: string[] = [];
      const wantText: Item[] = [];
      const wantBytes: Item[] = [];
      for (let i = start; i < start + BATCH; i++) {
        const c = makeCase(random, i);
        if (c.invalid !== undefined) {
          let thrown: unknown;
          try {
            encodeEvent(c.fields);
          } catch (err) {
            thrown = err;
          }
          if (!(thrown instanceof InvalidEventError)) differences.push(`case ${i} (${c.invalid}) was not rejected: ${String(thrown)}`);
          counts.rejected++;
          continue;
        }
        frames.push(encodeEvent(c.fields));
        wantText.push(...expectedItems(c.fields, false));
        wantBytes.push(...expectedItems(c.fields, true));
        counts.valid++;
        counts.combos.add(i % 16);
        const data = c.fields.data ?? '';
        if (c.fields.retry !== undefined) counts.retries++;
        if (/[\r\n]/.test(data)) counts.multiline++;
        if (/\p{Cs}/u.test(data + (c.fields.id ?? '') + (c.fields.event ?? ''))) counts.loneSurrogates++;
        if (data.includes('\0')) counts.nul++;
        if (data.length > 1_000) counts.long++;
        if (data === '') counts.emptyData++;
      }
      const stream = frames.join('');
      // As JS strings, cut at random places (a surrogate pair may be split between chunks).
      const gotText = parseAll((push) => {
        for (let at = 0; at < stream.length; ) {
          const size = 1 + int(random, random() < 0.1 ? 16 : 4096);
          push(stream.slice(at, at + size));
          at += size;
        }
      });
      const diffText = firstDifference(gotText, wantText);
      if (diffText !== undefined) differences.push(`text batch ${start}: ${diffText}`);
      // As UTF-8 bytes, cut at random byte offsets (inside multi-byte sequences too).
      const bytes = Buffer.from(stream, 'utf8');
      const gotBytes = parseAll((push) => {
        const decoder = new TextDecoder('utf-8');
        for (let at = 0; at < bytes.length; ) {
          const size = 1 + int(random, random() < 0.1 ? 7 : 8192);
          push(decoder.decode(bytes.subarray(at, at + size), { stream: true }));
          at += size;
        }
        push(decoder.decode());
      });
      const diffBytes = firstDifference(gotBytes, wantBytes);
      if (diffBytes !== undefined) differences.push(`bytes batch ${start}: ${diffBytes}`);
    }
    console.info(
      `[sse/encode-fuzz] ${FUZZ_EVENTS} generated: ${counts.valid} encoded and parsed back (as text and as bytes), ${counts.rejected} rejected; ` +
        `${counts.retries} with retry, ${counts.multiline} multi-line data, ${counts.loneSurrogates} with lone surrogates, ` +
        `${counts.nul} with NUL in data, ${counts.long} long (>1000 chars), ${counts.emptyData} empty data`,
    );
    expect(differences).toEqual([]);
    expect(counts.valid + counts.rejected).toBe(FUZZ_EVENTS);
    expect(counts.valid).toBeGreaterThanOrEqual(100_000);
    expect(counts.combos.size).toBe(16);
    expect(counts.rejected).toBeGreaterThan(1_000);
    expect(counts.loneSurrogates).toBeGreaterThan(1_000);
  });

  it.each([
    ['id', 'LF', { id: 'a\nb' }],
    ['id', 'CR', { id: 'a\rb' }],
    ['id', 'CRLF', { id: '\r\n' }],
    ['id', 'NUL', { id: '\0' }],
    ['event', 'LF', { event: 'x\n' }],
    ['event', 'CR', { event: '\rx' }],
    ['event', 'NUL', { event: 'a\0' }],
    ['retry', 'negative', { retry: -1 }],
    ['retry', 'fraction', { retry: 0.5 }],
    ['retry', 'NaN', { retry: Number.NaN }],
  ] as Array<[string, string, SseFields]>)('encodeEvent rejects %s with %s', (_field, _what, fields) => {
    expect(() => encodeEvent({ data: 'x', ...fields })).toThrow(InvalidEventError);
  });

  it('NUL, lone surrogates and U+2028 in data are carried as-is; only CR/LF split lines', () => {
    const data = 'a\0b\ud800c\u2028d\u0085e\r\nf\rg\nh';
    const got = parseAll((push) => push(encodeEvent({ data })));
    expect(got).toEqual([{ kind: 'event', event: undefined, id: undefined, data: 'a\0b\ud800c\u2028d\u0085e\nf\ng\nh' }]);
  });
});

describe('JSON data through a real server', () => {
  const VALUES = 3_000;
  let es: EventStream;
  let srv: TestServer;

  beforeAll(async () => {
    es = new EventStream({ keepAliveInterval: 60_000, history: { maxEvents: 10 } });
    const app = express();
    app.get('/fuzz', es('fuzz'));
    srv = await listen(app);
  });
  afterAll(async () => {
    await srv.close();
    await es.close();
  });

  it(`${VALUES.toLocaleString('en')} random JSON values reach the eventsource client deep-equal`, async () => {
    const random = prng(0xdada);
    const values = Array.from({ length: VALUES }, () => randomJson(random));
    const source = new EventSource(`${srv.url}/fuzz`);
    const received: unknown[] = [];
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    let allIn!: () => void;
    const done = new Promise<void>((resolve) => (allIn = resolve));
    source.addEventListener('stream-open', () => opened());
    source.onmessage = (e) => {
      received.push(JSON.parse(e.data));
      if (received.length === VALUES) allIn();
    };
    try {
      await within(open, 5000, 'eventsource opened');
      for (let i = 0; i < values.length; i += 50) {
        // event '' is sent without an `event:` line, so the client dispatches 'message'.
        await es.publishEvents('fuzz', values.slice(i, i + 50).map((data) => ({ event: '', data })));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await within(done, 15_000, `all ${VALUES} values arrived (have ${received.length})`);
    } finally {
      source.close();
    }
    let mismatches = 0;
    for (let i = 0; i < VALUES; i++) {
      if (JSON.stringify(received[i]) !== JSON.stringify(values[i])) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(received).toEqual(values);
    const loneSurrogateValues = values.filter((v) => /\p{Cs}/u.test(JSON.stringify(v) ?? '') || /\\ud[89a-f]/i.test(JSON.stringify(v) ?? '')).length;
    console.info(`[sse/encode-fuzz] server round trip: ${VALUES} JSON values, ${loneSurrogateValues} of them holding lone surrogates`);
    expect(loneSurrogateValues).toBeGreaterThan(50);
  });

  it('random event names and publisher ids arrive as their UTF-8 (well-formed) selves', async () => {
    const random = prng(0x1d5);
    const client = await SseClient.open(`${srv.url}/fuzz`, { keepBody: false });
    await client.waitForOpen();
    const sent: Array<{ event: string; id: string; data: unknown }> = [];
    for (let i = 0; i < 1_000; i++) {
      let event = fieldText(random);
      if (event === '' || event === 'stream-open' || event === 'history-truncated') event = `e${i}`;
      // Ids follow the id rule (src/sse/eventId.ts): what a browser can send back as
      // Last-Event-ID: no control characters, well-formed, bounded, no surrounding white space.
      const id = `#${i}:${wellFormed(fieldText(random).replace(/[\u0000-\u001f\u007f]/g, 'x').slice(0, 2000))}#`;
      const data = randomJson(random);
      sent.push({ event, id, data });
    }
    for (const { event, id, data } of sent) await es.publishEvent('fuzz', { event, id, data });
    await client.waitForData(sent.length, 10_000);
    const got = client.data;
    for (let i = 0; i < sent.length; i++) {
      const want = sent[i]!;
      expect({ event: got[i]!.event, id: got[i]!.id }, `event ${i}`).toEqual({ event: wellFormed(want.event), id: wellFormed(want.id) });
      expect(JSON.parse(got[i]!.data), `data ${i}`).toEqual(want.data);
    }
    await client.close();
  });
});
