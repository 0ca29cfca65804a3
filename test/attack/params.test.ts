/**
 * Attacks on route params and the query that fill `{name}` templates and channel builders:
 * encodings (valid, double, overlong, lone surrogates, broken), control characters, names that
 * look like templates or object keys, and many channels at once. Each request is served on
 * exactly the channel its text names, or refused with a one-line 4xx; nothing stays subscribed.
 * (CR/LF/NUL/`,`/`;`, 10 KB names and 5,000-channel bombs are in
 * test/request/malformed-requests.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw.js';
import { expectRefusal, noneLeft, rawHead, serve, stillServes, watchForEscapes, WAIT_MS, type Target } from './harness.js';

watchForEscapes();

let target: Target;

beforeAll(async () => {
  target = await serve(
    {},
    (app, es) => {
      app.get('/t/:ch', es('{ch}'));
      app.get('/room/:id', es('room-{id}-{id}'));
      app.get('/q', es('{ch}'));
      app.get('/proto', es('{__proto__}'));
      app.get('/ctor', es('{constructor}'));
      app.get('/many', es((req) => String((req.query as Record<string, unknown>).chs ?? '').split(',')));
    },
    'file',
  );
});
afterAll(() => target.close());

/** Opens `path`, expects a stream, and returns the channels it was subscribed to. */
async function channelsOf(path: string): Promise<string[]> {
  const client = await rawHead(target.port, { path });
  expect(client.head?.status, client.bodyText).toBe(200);
  await client.waitForEvents(1, WAIT_MS);
  const channels = Object.keys(target.es.stats().channels).sort();
  client.destroy();
  await noneLeft(target.es);
  return channels;
}

async function refused(path: string, status = 400, reason?: RegExp): Promise<void> {
  const client = await rawHead(target.port, { path });
  await expectRefusal(client, status, reason);
  client.destroy();
  expect(target.es.stats().connections).toBe(0);
}

describe('encodings in a route param', () => {
  it.each([
    ['UTF-8 emoji', '/t/%F0%9F%8E%89', ['🎉']],
    ['a double-encoded slash stays literal', '/t/%252F', ['%2F']],
    ['dot segments are just a name', '/t/..%2F..%2Fetc', ['../../etc']],
    ['a template in the value is not expanded again', '/t/%7Bch%7D', ['{ch}']],
    ['a token used twice is filled twice', '/room/7', ['room-7-7']],
  ])('%s → served on exactly that channel', async (_name, path, channels) => {
    expect(await channelsOf(path)).toEqual(channels);
  });

  it.each([
    ['DEL', '/t/a%7Fb'],
    ['SOH', '/t/a%01b'],
    ['TAB', '/t/a%09b'],
    ['only a TAB (would trim to nothing)', '/t/%09'],
  ])('a %s in the param → 400 with a one-line reason (no control character in a channel name)', async (_name, path) => {
    await refused(path, 400);
  });

  it.each([
    ['an overlong UTF-8 slash', '/t/%C0%AF'],
    ['a UTF-16 lone surrogate as UTF-8', '/t/%ED%A0%80'],
    ['a truncated escape', '/t/abc%E2%82'],
    ['a non-hex escape', '/t/%ZZ'],
    ['raw UTF-8 bytes in the request line (Node refuses them)', '/t/\u00e9t\u00e9'],
  ])('%s → 400 (from the router or Node), no crash', async (_name, path) => {
    const client = await rawHead(target.port, { path });
    expect(client.head?.status).toBe(400);
    client.destroy();
  });

  it('an event published to the decoded name reaches the client', async () => {
    const client = await rawHead(target.port, { path: '/t/%F0%9F%8E%89' });
    await client.waitForEvents(1, WAIT_MS);
    await target.es.publishEvent('🎉', { event: 'm', data: 'party' });
    await client.waitForEvents(2, WAIT_MS);
    expect(client.events[1]!.data).toBe('"party"');
    client.destroy();
  });
});

describe('the query', () => {
  it('?ch=a&ch=b → the first value only', async () => {
    expect(await channelsOf('/q?ch=a&ch=b')).toEqual(['a']);
  });

  it('+ and %20 in the query decode to spaces inside the name', async () => {
    expect(await channelsOf('/q?ch=a+b%20c')).toEqual(['a b c']);
  });

  it.each([
    ['empty', '/q?ch=', /empty/],
    ['only CR LF', '/q?ch=%0D%0A', undefined],
    ['missing', '/q?other=1', /missing parameter "ch"/],
    ['as ch[]', '/q?ch[]=x', undefined],
    ['a NUL', '/q?ch=%00', /NUL/],
  ])('a template value %s → 400 with a one-line reason', async (_name, path, reason) => {
    await refused(path, 400, reason);
  });

  it('{__proto__} filled from the query is an ordinary name; {constructor} with no such parameter is missing', async () => {
    const client = await rawHead(target.port, { path: '/proto?__proto__=x' });
    expect([200, 400]).toContain(client.head?.status);
    if (client.head?.status === 200) {
      await client.waitForEvents(1, WAIT_MS);
      expect(Object.keys(target.es.stats().channels)).toEqual(['x']);
    }
    client.destroy();
    await refused('/ctor', 400, /missing parameter "constructor"/);
    await refused('/ctor?toString=1', 400, /missing parameter "constructor"/);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('many channels in one request', () => {
  const names = (n: number, width = 1): string => Array.from({ length: n }, (_, i) => `c${i}`.padEnd(width, 'x')).join(',');

  it('exactly 100 channels from the query → served on all of them; 101 → 400', async () => {
    expect((await channelsOf(`/many?chs=${names(100)}`)).length).toBe(100);
    await refused(`/many?chs=${names(101)}`, 400, /more than 100 channels/);
  });

  it('60 channels of 250 bytes (a 15 KB URL) → served; a publish to the last one arrives', async () => {
    const client = await rawHead(target.port, { path: `/many?chs=${names(60, 250)}` });
    expect(client.head?.status).toBe(200);
    await client.waitForEvents(1, WAIT_MS);
    expect(target.es.stats().subscribers).toBe(60);
    await target.es.publishEvent('c59'.padEnd(250, 'x'), { event: 'm', data: 'last' });
    await client.waitForEvents(2, WAIT_MS);
    client.destroy();
    await noneLeft(target.es);
  });

  it('the same channel 100 times counts once', async () => {
    expect(await channelsOf(`/many?chs=${Array.from({ length: 100 }, () => 'same').join(',')}`)).toEqual(['same']);
  });

  it('50 clients on 100 channels each, dropped at once → nothing left', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.get(target.port, { path: `/many?chs=${names(100)}`, retain: false })));
    await Promise.all(clients.map((c) => c.waitForEvents(1, WAIT_MS)));
    expect(target.es.stats().subscribers).toBe(5000);
    for (const client of clients) client.destroy();
    await noneLeft(target.es);
  });

  it('the server still serves after all of that', async () => {
    await stillServes(target, '/t/alive', 'alive');
    await noneLeft(target.es);
  });
});
