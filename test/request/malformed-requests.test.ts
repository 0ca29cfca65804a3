/**
 * Hostile requests: garbage Last-Event-IDs, channel bombs, overlong names, broken encodings.
 * Each must get a definite answer (never a crash, never a hang), and the server must keep
 * serving afterwards.
 */
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { dechunk, listen, rawGet, rawRequest, SseClient, until, type TestServer } from '../support/resume-helpers.js';

let es: EventStream;
let srv: TestServer;
let lastPublishedId: string;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  es = new EventStream({ keepAliveInterval: 60_000, history: { maxEvents: 3 } });
  const app = express();
  app.get('/a', es('a'));
  app.get('/item/:id', es('item-{id}'));
  app.get('/bomb/:n', es((req) => Array.from({ length: Number((req.params as { n: string }).n) }, (_, i) => `c${i}`)));
  app.get('/many', es(Array.from({ length: 100 }, (_, i) => `m${i}`)));
  app.get('/q', es('q-{name}'));
  srv = await listen(app);
  const watcher = await SseClient.open(`${srv.url}/a`);
  await watcher.waitForOpen();
  for (let i = 0; i < 5; i++) await es.publishEvent('a', { event: 'm', data: i });
  await watcher.waitForData(5);
  lastPublishedId = watcher.lastId!;
  await watcher.close();
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await srv.close();
  await es.close();
  expect(uncaught).toEqual([]);
});

/** Reads a raw stream until the replay (3 retained events) is in, or the server answers otherwise. */
async function rawStream(request: Buffer): Promise<{ status: number; text: string; head: string }> {
  const reply = await rawRequest(srv.port, request, {
    until: (text) => /\r\n\r\n/.test(text) && (!/^HTTP\/1\.1 200/.test(text) || (text.match(/event: m\n/g) ?? []).length >= 3),
    ms: 3000,
  });
  const text = /transfer-encoding: chunked/i.test(reply.head) ? dechunk(Buffer.from(reply.body, 'utf8')).toString('utf8') : reply.body;
  return { status: reply.status, text, head: reply.head };
}

/** A one-shot request (`Connection: close`, so the server's close ends the read). */
function get(path: string, headers: Record<string, string | Buffer> = {}, until?: (text: string) => boolean) {
  return rawRequest(srv.port, rawGet(path, { Connection: 'close', ...headers }), { ms: 3000, until });
}

async function stillServing(): Promise<void> {
  const client = await SseClient.open(`${srv.url}/a`);
  await client.waitForOpen();
  await es.publishEvent('a', { event: 'm', data: 'alive' });
  await client.waitFor((c) => c.data.some((e) => e.data === '"alive"'), 3000, 'live event');
  await client.close();
}

const garbageIds: Array<[string, string, string | null]> = [
  ['10 KB', 'x'.repeat(10_240), null],
  ['wrong format', 'not-an-id', 'not-an-id'],
  ['-1', '-1', '-1'],
  ['1e99', '1e99', '1e99'],
  ['20 digits', '99999999999999999999', '99999999999999999999'],
  ['16 nines (beyond any handed-out id)', '9999999999999999', '9999999999999999'],
  ['zero', '0', '0'],
  ['hex', '0x1f', '0x1f'],
  ['JSON', '{"lastEventId":1}', '{"lastEventId":1}'],
  // The id rule (src/sse/eventId.ts) bounds ids at MAX_EVENT_ID_LENGTH = 2048.
  ['2049 chars', 'a'.repeat(2049), null],
  ['2048 chars', 'b'.repeat(2048), 'b'.repeat(2048)],
];

describe('garbage Last-Event-ID', () => {
  it.each(garbageIds)('header %s → 200, history-truncated, the retained events', async (_name, id, reported) => {
    const client = await SseClient.open(`${srv.url}/a`, { headers: { 'last-event-id': id } });
    await client.waitForData(3);
    expect(client.status).toBe(200);
    expect(client.events[0]!.event).toBe('stream-open');
    expect(client.events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId: reported }) });
    expect(client.data.map((e) => e.data)).toEqual(['2', '3', '4']);
    await client.close();
  });

  it.each([
    ['TAB', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['ESC', '\u001b[2J'],
    ['SOH', '\u0001'],
    ['NUL', '\u0000'],
    ['LF', '1\n2'],
    ['CR', '1\r2'],
  ])('control character %s in ?lastEventId= → 200, history-truncated with null', async (_name, id) => {
    const client = await SseClient.open(`${srv.url}/a?lastEventId=${encodeURIComponent(id)}`);
    await client.waitForData(3);
    expect(client.events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: '{"lastEventId":null}' });
    await client.close();
  });

  it('a TAB inside the header (legal in HTTP) → 200, history-truncated with null', async () => {
    const { status, text } = await rawStream(rawGet('/a', { 'Last-Event-ID': 'a\tb' }));
    expect(status).toBe(200);
    expect(text).toContain(`event: ${HISTORY_TRUNCATED_EVENT}\ndata: {"lastEventId":null}`);
  });

  it.each([
    ['SOH', Buffer.from([0x61, 0x01, 0x62])],
    ['DEL', Buffer.from([0x61, 0x7f, 0x62])],
    ['NUL', Buffer.from([0x61, 0x00, 0x62])],
    ['bare CR', Buffer.from([0x31, 0x0d, 0x32])],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc3])],
  ])('raw %s byte in the header → a definite answer (Node 400 or 200 + history-truncated)', async (_name, value) => {
    const { status, text } = await rawStream(rawGet('/a', { 'Last-Event-ID': value }));
    expect([200, 400]).toContain(status);
    if (status === 200) expect(text).toContain(HISTORY_TRUNCATED_EVENT);
  });

  it('two Last-Event-ID headers → 200 and a definite replay (no crash)', async () => {
    const head = `GET /a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${lastPublishedId}\r\nLast-Event-ID: junk\r\n\r\n`;
    const { status, text } = await rawStream(Buffer.from(head));
    expect(status).toBe(200);
    expect(text).toContain('event: stream-open');
  });

  it('a 10 KB id in the query and in the header together: the header wins, both garbage', async () => {
    const client = await SseClient.open(`${srv.url}/a?lastEventId=${'q'.repeat(10_000)}`, { headers: { 'last-event-id': 'z'.repeat(2049) } });
    await client.waitForData(3);
    expect(client.events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: '{"lastEventId":null}' });
    await client.close();
  });

  it('unicode digits in ?lastEventId= → history-truncated with the id', async () => {
    const client = await SseClient.open(`${srv.url}/a?lastEventId=${encodeURIComponent('１２３')}`);
    await client.waitForData(3);
    expect(client.events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId: '１２３' }) });
    await client.close();
  });

  it('nothing stays subscribed once those clients left', async () => {
    await until(() => es.stats().subscribers === 0, 2000, () => JSON.stringify(es.stats()));
  });

  it('the server still serves after all of that', stillServing);
});

describe('channel bombs and overlong names', () => {
  it('a builder returning 5,000 channels → 400', async () => {
    const reply = await get('/bomb/5000');
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(/more than 100 channels/);
    expect(es.stats().subscribers).toBe(0);
  });

  it('a builder returning 101 channels → 400; exactly 100 is served', async () => {
    expect((await get('/bomb/101')).status).toBe(400);
    const ok = await SseClient.open(`${srv.url}/bomb/100`);
    await ok.waitForOpen();
    expect(es.stats().subscribers).toBe(100);
    await ok.close();
    await until(() => es.stats().subscribers === 0, 2000, 'unsubscribed');
  });

  it('a 100-channel route with a resume from a garbage id is served (truncated, nothing to replay)', async () => {
    const client = await SseClient.open(`${srv.url}/many`, { headers: { 'last-event-id': 'garbage' } });
    await client.waitFor((c) => c.events.length >= 2, 3000, 'truncation notice');
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT]);
    await client.close();
  });

  it('a 10,000-character :id in a {id} template → 400 (or 414/431 from Node), never a crash or hang', async () => {
    const reply = await get(`/item/${'x'.repeat(10_000)}`);
    expect([400, 414, 431]).toContain(reply.status);
    expect(reply.status).toBe(400); // 10 KB is under Node's 16 KiB header limit: gripstream answers
    expect(reply.body).toMatch(/longer than 255 bytes/);
  });

  it('a 20,000-character :id is refused by Node itself (431) without reaching the handler', async () => {
    const reply = await get(`/item/${'x'.repeat(20_000)}`);
    expect([400, 414, 431]).toContain(reply.status);
  });

  it('a 255-byte multi-byte name passes, 256 bytes does not', async () => {
    const ok = await get(`/item/${encodeURIComponent('é'.repeat(124))}`, {}, (t) => t.includes('stream-open')); // "item-" + 248 bytes = 253
    expect(ok.status).toBe(200);
    const tooLong = await get(`/item/${encodeURIComponent('é'.repeat(126))}`);
    expect(tooLong.status).toBe(400);
  });

  it.each([
    ['CR LF', '%0D%0Ainjected:%201'],
    ['NUL', 'a%00b'],
    ['comma', 'a%2Cb'],
    ['semicolon', 'a%3Bb'],
  ])('a %s in the channel parameter → 400', async (_name, param) => {
    const reply = await get(`/item/${param}`);
    expect(reply.status).toBe(400);
  });

  it('a broken percent-encoding in the path → 400 from the router, no crash', async () => {
    const reply = await get('/item/%E0%A4%A');
    expect(reply.status).toBe(400);
  });

  it('a missing template parameter → 400', async () => {
    const reply = await get('/q');
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(/missing parameter "name"/);
  });

  it('a query with the template parameter repeated 1,000 times → one channel, served', async () => {
    const query = Array.from({ length: 1_000 }, (_, i) => `name=n${i}`).join('&');
    const client = await SseClient.open(`${srv.url}/q?${query}`);
    await client.waitForOpen();
    expect(Object.keys(es.stats().channels)).toEqual(['q-n0']);
    await client.close();
  });

  it('the server still serves after all of that, with nothing left subscribed', async () => {
    await stillServing();
    await until(() => es.stats().subscribers === 0, 2000, () => JSON.stringify(es.stats()));
  });
});
