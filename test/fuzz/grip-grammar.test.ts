/**
 * Event ids and channel names through every place they are written: SSE `id:` lines, the
 * Last-Event-ID round trip, `Grip-Channel` (name and `prev-id`), published GRIP items,
 * `Grip-Last` coming back, and Redis keys. Whatever a publisher or a route gives, it must come
 * back exactly and never change a header's structure: no extra channel, no lost one, no
 * position misread (which would replay twice or skip).
 *
 * Two parts. A model part, hundreds of runs in a second: the headers we write, parsed by the
 * proxy's grammar as read from Pushpin's source (elements split on commas outside quoted
 * strings; an element's name runs to the first `;`; parameters `name=value`, the value a
 * quoted string or running to the next `;`). And a part through a real Pushpin and a real
 * redis-server, with gap recovery (Grip-Last) forced in every run.
 *
 * Fixed seed by default; `FC_SEED=<n> FC_RUNS=<n>` for other or more runs.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Publisher } from '@fanoutio/grip';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream, FROM_START, GripPublishError, RedisHistory } from '../../src/index.js';
import { GripTransport } from '../../src/grip/GripTransport.js';
import { decodeGripId, encodeGripId } from '../../src/grip/gripId.js';
import { normalizeChannel } from '../../src/channelName.js';
import { isValidEventId } from '../../src/sse/eventId.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin, type PushpinInstance } from '../support/pushpin.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { Listener, startOrigin, within, type Origin } from '../support/pushpin/origin.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);
/** Runs through the real processes; the model part runs a hundred times as many (it is cheap). */
const LIVE_RUNS = RUNS ?? 12;
const modelRuns = (fallback: number): number => (RUNS === undefined ? fallback : RUNS * 100);

/** Pieces that mean something to a header's grammar, to the SSE framing, or to a Redis key. */
const HOSTILE = [
  ',', ';', '"', '\\', '=', ' ', '%', '%2C', '%2D', '-', ', events-canary', '; prev-id=', 'last-id=', '\t',
  'é', '事', '😀', '{', '}', ':', '\u2028', '\u00a0', 'id: x', '\r', '\n', '\0',
];
const unit = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));

/** Ids the publish rule accepts (and a browser can send back). */
const eventId = (maxLength: number) =>
  fc.string({ unit, minLength: 1, maxLength }).filter((id) => isValidEventId(id) && id !== FROM_START);

/** Names the channel rule accepts as they are (routes and publishes alike). */
const channelName = fc
  .string({ unit, minLength: 1, maxLength: 20 })
  .filter((name) => {
    try {
      return normalizeChannel(name) === name;
    } catch {
      return false;
    }
  });

// ---- the proxy's grammar, as Pushpin's header code reads it (written here from that reading) ----

/** Trims as Pushpin does (ASCII white space only): a byte 0xA0 inside UTF-8 is not a space. */
const trim = (text: string): string => text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

interface Element {
  name: string;
  params: Map<string, string>;
}

/** Splits a header value on the commas outside quoted strings; undefined on an open quote. */
function splitElements(value: string): string[] | undefined {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(trim(value.slice(start, i)));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  out.push(trim(value.slice(start)));
  return out;
}

function parseElement(text: string): Element | undefined {
  const semi = text.indexOf(';');
  const name = trim(semi === -1 ? text : text.slice(0, semi));
  const params = new Map<string, string>();
  let at = semi === -1 ? text.length : semi + 1;
  while (at < text.length) {
    const eq = text.slice(at).search(/[=;]/);
    if (eq === -1) {
      params.set(trim(text.slice(at)), '');
      break;
    }
    const key = trim(text.slice(at, at + eq));
    at += eq;
    if (text[at] === ';') {
      params.set(key, '');
      at++;
      continue;
    }
    at++;
    if (text[at] === '"') {
      let value = '';
      let i = at + 1;
      for (; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] : text[i];
      if (i >= text.length) return undefined;
      if (!params.has(key)) params.set(key, value);
      const next = text.indexOf(';', i);
      at = next === -1 ? text.length : next + 1;
    } else {
      const next = text.indexOf(';', at);
      const value = trim(next === -1 ? text.slice(at) : text.slice(at, next));
      if (!params.has(key)) params.set(key, value);
      at = next === -1 ? text.length : next + 1;
    }
  }
  return { name, params };
}

function parseHeader(value: string): Element[] | undefined {
  const parts = splitElements(value);
  if (parts === undefined) return undefined;
  const elements: Element[] = [];
  for (const part of parts) {
    const element = parseElement(part);
    if (element === undefined) return undefined;
    elements.push(element);
  }
  return elements;
}

/** Header values leave as UTF-8 bytes; the proxy reads bytes. */
const asBytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const fromBytes = (text: string): string => Buffer.from(text, 'latin1').toString('utf8');

describe('GRIP header grammar (model of the proxy, many runs)', () => {
  const transport = new GripTransport(new Publisher({ control_uri: 'http://127.0.0.1:9/' }), 'events-', true);

  it('ids round-trip through their GRIP form, which is only token characters', () => {
    fc.assert(
      fc.property(eventId(64), (id) => {
        const encoded = encodeGripId(id);
        expect(encoded).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
        expect(encoded).not.toBe('-');
        expect(decodeGripId(encoded)).toBe(id);
      }),
      { seed: SEED, numRuns: modelRuns(2000) },
    );
  });

  it('Grip-Channel names exactly the hold\'s channels at exactly their positions; Grip-Last reads back the same', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(channelName, { minLength: 1, maxLength: 4 }),
        fc.array(fc.option(eventId(40), { nil: undefined }), { minLength: 4, maxLength: 4 }),
        (channels, ids) => {
          const prevIds = new Map<string, string>();
          channels.forEach((channel, i) => {
            const id = ids[i];
            if (id !== undefined) prevIds.set(channel, id);
          });
          const headers = transport.holdHeaders(channels, 20, { prevIds, nextLink: '/x' });
          const parsed = parseHeader(asBytes(headers['Grip-Channel']!));
          expect(parsed).toBeDefined();
          expect(parsed!.map((e) => fromBytes(e.name))).toEqual(channels.map((c) => `events-${c}`));
          parsed!.forEach((element, i) => {
            const id = prevIds.get(channels[i]!);
            expect(element.params.get('prev-id')).toBe(id === undefined ? '-' : encodeGripId(id));
          });

          // Grip-Last as the proxy writes it: one `<channel>; last-id=<prev-id as it holds it>`
          // per channel (Node joins repeated headers with ', '), plus one the route does not allow.
          const lines = parsed!.map((e) => `${e.name}; last-id=${e.params.get('prev-id')!}`);
          lines.push(`events-canary; last-id=${encodeGripId(ids[0] ?? 'x')}`);
          const positions = transport.parseGripLast(fromBytes(lines.join(', ')), channels);
          expect([...positions!.keys()].sort()).toEqual([...channels].sort());
          for (const channel of channels) expect(positions!.get(channel)).toBe(prevIds.get(channel) ?? FROM_START);
        },
      ),
      { seed: SEED, numRuns: modelRuns(500) },
    );
  });

  it('Grip-Last never widens the route\'s channels, whatever the header says', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), (header) => {
        const positions = transport.parseGripLast(header, ['room']);
        for (const channel of positions?.keys() ?? []) expect(channel).toBe('room');
      }),
      { seed: SEED, numRuns: modelRuns(2000) },
    );
    expect([...transport.parseGripLast('events-room; last-id=1, events-admin; last-id=2', ['room'])!.keys()]).toEqual(['room']);
    expect(transport.parseGripLast('events-admin; last-id=-', ['room'])!.size).toBe(0);
  });
});

// ---- through a real Pushpin and a real redis-server ----

interface Rig {
  redis: RedisInstance;
  pushpin: PushpinInstance;
  origin: Origin;
  /** An instance sharing the history whose publishes never reach the proxy: makes gaps. */
  lost: EventStream;
  history: RedisHistory;
}

describe.runIf(requirePushpin() && requireRedis())('ids and channel names through Pushpin and Redis (fuzz)', () => {
  let rig: Rig;
  const cleanups: Array<() => unknown> = [];
  beforeAll(async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const [httpPort, publishPort] = await freePortPair();
    const keyPrefix = `fuzz-${randomUUID()}:`;
    const options = {
      grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
      gripReliable: true,
      history: { redis: redis.url, keyPrefix },
      authorize: (_req: unknown, channels: readonly string[]) => !channels.includes('canary'),
    };
    const origin = await startOrigin('A', options);
    cleanups.push(() => origin.close());
    const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
    cleanups.push(() => lost.close());
    const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
    cleanups.push(() => pushpin.stop());
    await pushpin.waitForOrigin('/events/warmup');
    const history = new RedisHistory({ redis: redis.url, keyPrefix });
    cleanups.push(() => history.close());
    rig = { redis, pushpin, origin, lost, history };
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  let run = 0;

  async function oneRun(name: string, ids: readonly string[]): Promise<void> {
    const { origin, lost, pushpin, history } = rig;
    const es = origin.eventStream;
    // One channel per run, so runs cannot see each other.
    const channel = `${name}~${run++}`;
    const [first, second, gap, last] = ids as [string, string, string, string];
    const path = `/events/${encodeURIComponent(channel)}`;

    await es.publishEvent(channel, { event: 'm', data: 1, id: first });
    const client = new Listener(`http://127.0.0.1:${pushpin.httpPort}${path}`, ['m', 'canary']);
    try {
      await client.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'open');
      await es.publishEvent(channel, { event: 'm', data: 2, id: second });
      // An id naming the canary channel: whatever it does, the held client must not get canary events.
      await es.publishEvent('canary', { event: 'canary', data: 0, id: `${second}, events-canary` });
      // Stored, but never sent to the proxy: the next item's prev-id reveals the gap, and the
      // proxy recovers it with Grip-Last naming `second` (as it holds it).
      await expect(lost.publishEvent(channel, { event: 'm', data: 3, id: gap })).rejects.toBeInstanceOf(GripPublishError);
      await es.publishEvent(channel, { event: 'm', data: 4, id: last });
      await client.until((e) => e.some((x) => x.id === last), 10_000, `last event on ${JSON.stringify(channel)}`);
      // SSE `id:` lines: each id back exactly, once, in order; nothing from canary.
      expect(client.of('m').map((e) => e.id)).toEqual([second, gap, last]);
      expect(client.of('canary')).toEqual([]);
      expect(client.of('history-truncated')).toEqual([]);
    } finally {
      client.close();
    }

    // Last-Event-ID as a browser sends it (UTF-8 bytes), through the proxy: the hold replays after it.
    const resumed = await readEvents(pushpin.httpPort, path, second, last);
    expect(resumed).toEqual([gap, last]);

    // Redis keys: the channel's events and newest id, read back from redis-server.
    const replay = await history.readAfter([channel], FROM_START);
    expect(replay.records.map((r) => [r.channel, r.id])).toEqual(ids.map((id) => [channel, id]));
    expect((await history.lastIds([channel])).get(channel)).toBe(last);
  }

  it('every id and name comes back exactly, recovery included, and no id reaches another channel', async () => {
    await fc.assert(
      fc.asyncProperty(channelName, fc.uniqueArray(eventId(24), { minLength: 4, maxLength: 4 }), oneRun),
      { seed: SEED, numRuns: LIVE_RUNS, endOnFailure: true },
    );
  }, 30_000 + LIVE_RUNS * 5_000);

  it('the longest ids (2048 units, multi-byte) and the sentinel-looking ones go through too', async () => {
    await oneRun('long', ['事'.repeat(2048), '-', '%2D', `${'😀'.repeat(1000)},;"=`]);
  }, 30_000);
});

/** GET through the proxy with `Last-Event-ID` (raw UTF-8 bytes); the ids of events up to `until`. */
function readEvents(port: number, path: string, lastEventId: string, until: string): Promise<string[]> {
  const ids: string[] = [];
  return within(
    new Promise<string[]>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', 'last-event-id': asBytes(lastEventId) } },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          const parser = createParser({
            onEvent: (event) => {
              if (event.event === 'history-truncated') ids.push('<truncated>');
              if (event.event !== 'm') return;
              ids.push(event.id ?? '');
              if (event.id === until) {
                req.destroy();
                resolve(ids);
              }
            },
          });
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => parser.feed(chunk));
        },
      );
      req.on('error', (err) => {
        if (!req.destroyed || ids.at(-1) !== until) reject(err);
      });
    }),
    10_000,
    `resume after ${JSON.stringify(lastEventId)}: got ${JSON.stringify(ids)}`,
  );
}
