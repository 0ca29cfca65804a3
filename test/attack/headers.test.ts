/**
 * Attacks on request headers of a direct stream: size, repetition, odd bytes, every shape of
 * Accept and Last-Event-ID a client can send. Each request gets a definite answer (a stream, or
 * a 4xx with a one-line reason), nothing stays subscribed, and the server keeps serving.
 * (Garbage Last-Event-ID values and control bytes are in test/request/malformed-requests.test.ts;
 * GRIP headers in grip.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { RawClient } from '../support/raw.js';
import { expectRefusal, noneLeft, rawHead, sendBytes, serve, statusOf, stillServes, watchForEscapes, WAIT_MS, type Target } from './harness.js';

watchForEscapes();

let target: Target;
/** Ids of the three events on channel `a`, oldest first. */
let ids: string[];

beforeAll(async () => {
  target = await serve({}, (app, es) => app.get('/a', es('a')), 'file');
  await target.es.publishEvent('a', { event: 'm', data: 0, id: 'é-0' });
  await target.es.publishEvent('a', { event: 'm', data: 1 });
  await target.es.publishEvent('a', { event: 'm', data: 2 });
  const probe = await RawClient.get(target.port, { path: '/a', headers: { 'Last-Event-ID': 'unknown' } });
  await probe.waitForEvents(5);
  ids = probe.events.slice(2).map((e) => e.id!);
  probe.destroy();
});

afterAll(() => target.close());

/** Opens /a with the raw header lines given (after Host and Accept unless `accept` is set). */
async function open(headers: Record<string, string>, accept?: string | null): Promise<RawClient> {
  return rawHead(target.port, { path: '/a', headers, accept });
}

/** Data of the events after stream-open (and after history-truncated if any), once `count` arrived. */
async function replayed(client: RawClient, count: number): Promise<{ truncated: boolean; data: string[] }> {
  await client.waitForEvents(count, WAIT_MS);
  const events = client.events.slice(1);
  const truncated = events[0]?.event === HISTORY_TRUNCATED_EVENT;
  return { truncated, data: events.filter((e) => e.event === 'm').map((e) => e.data) };
}

describe('sizes and repetition', () => {
  it('a 15 KB header (under Node’s 16 KiB limit) is served', async () => {
    const client = await open({ 'X-Padding': 'p'.repeat(15_000) });
    expect(client.head?.status).toBe(200);
    client.destroy();
  });

  it('a 20 KB header is refused by Node with 431 before any handler runs', async () => {
    const text = await sendBytes(target.port, `GET /a HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`, (t) => t.includes('\r\n\r\n'));
    expect(statusOf(text)).toBe(431);
    expect(target.es.stats().connections).toBe(0);
  });

  it('1,500 small headers in one request are served', async () => {
    const headers = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`x${i}`, '1']));
    const client = await open(headers);
    expect(client.head?.status).toBe(200);
    client.destroy();
  });

  it('Accept sent twice (application/json, then text/event-stream) is joined by Node and accepted', async () => {
    const text = await sendBytes(
      target.port,
      'GET /a HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nAccept: text/event-stream\r\n\r\n',
      (t) => t.includes('stream-open'),
    );
    expect(statusOf(text)).toBe(200);
  });

  it('Content-Length together with Transfer-Encoding (request smuggling) → 400 from Node', async () => {
    const text = await sendBytes(
      target.port,
      'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      (t) => t.includes('\r\n\r\n'),
    );
    expect(statusOf(text)).toBe(400);
  });

  it('an obs-folded header line → 400 from Node', async () => {
    const text = await sendBytes(target.port, 'GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/plain,\r\n text/event-stream\r\n\r\n', (t) => t.includes('\r\n\r\n'));
    expect(statusOf(text)).toBe(400);
  });

  it('nothing is left subscribed, and the server still serves', async () => {
    await noneLeft(target.es);
    await stillServes(target, '/a', 'a');
  });
});

describe('Accept', () => {
  it.each([
    ['text/event-stream', 200],
    ['TEXT/EVENT-STREAM', 200],
    ['text/event-stream; charset=utf-8', 200],
    ['text/*', 200],
    ['*/*', 200],
    ['text/html, */*;q=0.1', 200],
    ['text/event-stream;q=1.0', 200],
    ['application/json', 406],
    ['text/event-stream;q=0', 406],
    ['text/event-stream ; Q=0', 406],
    ['text/event-stream;q=0.000', 406],
    ['text/event-stream;q=0, */*', 406],
    ['*/*;q=0', 406],
  ])('Accept: %s → %i', async (accept, status) => {
    const client = await open({}, accept);
    if (status === 200) expect(client.head?.status).toBe(200);
    else await expectRefusal(client, status, /text\/event-stream/);
    client.destroy();
  });

  it.each([
    ['only commas', ' , , '],
    ['a NaN quality', 'text/event-stream;q=abc'],
    ['a negative quality', 'text/event-stream;q=-1'],
    ['16 KB of media ranges', 'x/y,'.repeat(3_500) + 'application/json'],
    ['a parameter with no value', 'text/event-stream;q'],
  ])('Accept with %s → a definite answer (200 or a one-line 406)', async (_name, accept) => {
    const client = await open({}, accept);
    expect([200, 406]).toContain(client.head?.status);
    if (client.head?.status === 406) await expectRefusal(client, 406);
    client.destroy();
  });

  it('no Accept at all → served (as the reference does)', async () => {
    const client = await open({}, null);
    expect(client.head?.status).toBe(200);
    client.destroy();
  });
});

describe('Last-Event-ID variants', () => {
  it('the header name in any case resumes exactly', async () => {
    const client = await open({ 'LAST-EVENT-ID': ids[0]! });
    expect(await replayed(client, 3)).toEqual({ truncated: false, data: ['1', '2'] });
    client.destroy();
  });

  it('an empty value means "no id": live only, no history-truncated', async () => {
    const client = await open({ 'Last-Event-ID': '' });
    await client.waitForEvents(1);
    await target.es.publishEvent('a', { event: 'live', data: 'e' });
    await client.waitFor((c) => c.events.some((e) => e.event === 'live'), 'the live event', WAIT_MS);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'live']);
    client.destroy();
  });

  it('a value of only spaces is trimmed by HTTP to empty: live only', async () => {
    const client = await open({ 'Last-Event-ID': '    ' });
    await client.waitForEvents(1);
    await target.es.publishEvent('a', { event: 'live', data: 's' });
    await client.waitFor((c) => c.events.some((e) => e.event === 'live'), 'the live event', WAIT_MS);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'live']);
    client.destroy();
  });

  it('a non-ASCII custom id sent as UTF-8 bytes (what browsers send) resumes exactly', async () => {
    const client = await open({ 'Last-Event-ID': 'é-0' }); // RawClient writes UTF-8
    expect(await replayed(client, 4)).toMatchObject({ truncated: false, data: expect.arrayContaining(['1', '2']) });
    client.destroy();
  });

  it('the same id in ?last_event_id= resumes exactly; a valid header beats a junk query', async () => {
    const viaQuery = await rawHead(target.port, { path: `/a?last_event_id=${encodeURIComponent(ids[0]!)}` });
    expect(await replayed(viaQuery, 3)).toEqual({ truncated: false, data: ['1', '2'] });
    viaQuery.destroy();
    const both = await rawHead(target.port, { path: '/a?lastEventId=junk', headers: { 'Last-Event-ID': ids[1]! } });
    expect(await replayed(both, 2)).toEqual({ truncated: false, data: ['2'] });
    both.destroy();
  });

  it('the newest id replays nothing and says nothing', async () => {
    await target.es.publishEvent('a', { event: 'm', data: 'newest', id: 'newest-1' });
    const client = await open({ 'Last-Event-ID': 'newest-1' });
    await client.waitForEvents(1);
    await target.es.publishEvent('a', { event: 'live', data: 'n' });
    await client.waitFor((c) => c.events.some((e) => e.event === 'live'), 'the live event', WAIT_MS);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'live']);
    client.destroy();
  });

  it.each([
    ['an id with a leading zero', () => `0${ids[0]!}`],
    ['an id with a plus sign', () => `+${ids[0]!}`],
    ['an id in exponent form', () => `${Number(ids[0]!).toExponential()}`],
    ['an id from the future (never handed out)', () => String(Number(ids.at(-1)!) + 10 ** 12)],
    ['a dash (the GRIP "no previous id")', () => '-'],
  ])('%s → history-truncated, then what is kept', async (_name, id) => {
    const client = await open({ 'Last-Event-ID': id() });
    const result = await replayed(client, 2);
    expect(result.truncated).toBe(true);
    client.destroy();
  });

  it('nothing is left subscribed, and the server still serves', async () => {
    await noneLeft(target.es);
    await stillServes(target, '/a', 'a');
  });
});
