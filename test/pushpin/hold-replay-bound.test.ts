/**
 * A GRIP hold is answered in one body. Before the bound, a signed hold request for an old or
 * unknown id built the channel's whole history into it: 8 MiB of history cost ~17 MiB per
 * request, and 30 such requests (which anyone can make through the proxy) pinned 0.5 GiB.
 * Now a hold's replay is at most `maxBufferedBytes` (at least one event), and the proxy
 * fetches the rest through the next link (reliable mode) or the client reconnects for it.
 */
import net from 'node:net';
import express from 'express';
import { Auth } from '@fanoutio/grip';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { collectGarbage } from '../support/gc.js';
import { startApp, startHttp } from '../support/server.js';
import { pollUntil } from '../support/wait.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { Listener, startOrigin } from '../support/pushpin/origin.js';

afterEach(runCleanups);

const MiB = 1024 * 1024;
const EVENT_DATA = 60 * 1024;
const EVENTS = 130; // ~7.6 MiB: just inside the default 8 MiB a channel keeps
const REQUESTS = 24;

function retained(): number {
  for (let i = 0; i < 3; i++) collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function gripSig(): Promise<string> {
  // As Pushpin signs: HS256 with its sig_key, iss = its sig_iss.
  return (await new Auth.Jwt({ iss: 'pushpin' }, new TextEncoder().encode('changeme')).buildHeader()).replace(/^Bearer /, '');
}

/** Sends a hold request as Pushpin would, and never reads the answer. */
function neverReading(port: number, path: string, headers: Record<string, string>): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Accept: text/event-stream', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  defer(() => void socket.destroy());
  return socket;
}

async function origin(gripReliable: boolean) {
  // A stand-in proxy publish endpoint: publishing is not what is measured here.
  const proxy = await startHttp((req, res) => {
    req.resume();
    req.on('end', () => res.end('Published\n'));
  });
  let holds = 0;
  const es = new EventStream({
    grip: `${proxy.url}/?iss=pushpin&key=changeme`,
    gripReliable,
    keepAliveInterval: 60_000,
    onConnect: (info) => {
      if (info.proxied) holds++;
    },
  });
  defer(() => es.close());
  const app = express();
  app.get('/events/:ch', es('{ch}'));
  const server = await startApp(app);
  for (let i = 0; i < EVENTS; i++) {
    await es.publishEvent('big', { event: 'm', data: `${String(i).padStart(4, '0')}`.padEnd(EVENT_DATA, 'x') });
  }
  return { es, server, holds: () => holds };
}

it.each([
  ['reliable', true],
  ['plain', false],
])('%s GRIP holds with an unknown Last-Event-ID on 7.6 MiB of history: each costs at most maxBufferedBytes', async (_mode, reliable) => {
  const { server, holds } = await origin(reliable);
  const sig = await gripSig();
  // One answered first, so what is measured below is per request, not first-use costs.
  neverReading(server.port, '/events/big', { 'Grip-Sig': sig, 'Last-Event-ID': 'junk' });
  await pollUntil(() => holds() === 1, 10_000, 'the first hold');

  const before = retained();
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < REQUESTS; i++) neverReading(server.port, '/events/big', { 'Grip-Sig': sig, 'Last-Event-ID': 'junk' });
  await pollUntil(() => holds() === REQUESTS + 1, 20_000, 'every hold answered');
  const perRequest = (retained() - before) / REQUESTS;
  const rssPerRequest = (process.memoryUsage().rss - rssBefore) / REQUESTS;
  console.log(
    `[hold-replay-bound] ${reliable ? 'reliable' : 'plain'}: ${(perRequest / MiB).toFixed(2)} MiB heap+buffers, ` +
      `${(rssPerRequest / MiB).toFixed(2)} MiB rss per unread hold answer`,
  );
  // The body (at most 1 MiB of events, the default maxBufferedBytes) waits unread in the
  // socket's queue; before the bound it was the whole 7.6 MiB (or ~2× that in UTF-16).
  expect(perRequest).toBeLessThan(1.5 * MiB);
});

describe.runIf(requirePushpin())('a replay larger than the bound, through a real Pushpin', () => {
  const SMALL_BOUND = 256 * 1024;
  const BIG_EVENTS = 24; // 24 × 60 KB ≈ 1.4 MiB: six parts of at most 256 KiB

  async function behindPushpin(gripReliable: boolean) {
    const [httpPort, publishPort] = await freePortPair();
    const origin = await startOrigin('A', {
      grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
      gripReliable,
      maxBufferedBytes: SMALL_BOUND,
      // Plain mode: the client reconnects for each part.
      retry: 50,
    });
    defer(() => origin.close());
    const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
    defer(() => pushpin.stop());
    await pushpin.waitForOrigin('/events/warmup');
    for (let i = 0; i < BIG_EVENTS; i++) {
      await origin.eventStream.publishEvent('big', { event: 'm', data: `${String(i).padStart(4, '0')}`.padEnd(EVENT_DATA, 'x'), id: `e,${i}` });
    }
    return { origin, httpPort };
  }

  it.each([
    ['reliable', true],
    ['plain', false],
  ])('%s: a client resuming from an unknown id gets every event once, in order, then live ones', async (_mode, reliable) => {
    const { origin, httpPort } = await behindPushpin(reliable);
    const client = new Listener(`http://127.0.0.1:${httpPort}/events/big?lastEventId=junk`, ['m']);
    defer(() => client.close());
    await client.until((e) => e.filter((x) => x.type === 'm').length >= BIG_EVENTS, 30_000, 'the whole replay');
    const replayed = Array.from({ length: BIG_EVENTS }, (_, i) => `e,${i}`);
    if (reliable) {
      await origin.eventStream.publishEvent('big', { event: 'm', data: 'live', id: 'e,live' });
      await client.until((e) => e.some((x) => x.id === 'e,live'), 10_000, 'a live event after it');
      expect(client.of('m').map((e) => e.id)).toEqual([...replayed, 'e,live']);
    } else {
      // Plain GRIP has no recovery: an event published while the client reconnects for its last
      // part (after the origin read history, before the proxy subscribed the new hold) is not
      // delivered — the reason reliable mode exists. So publish until one live event arrives.
      for (let k = 0; k < 40 && !client.events.some((x) => x.id.startsWith('e,live')); k++) {
        await origin.eventStream.publishEvent('big', { event: 'm', data: 'live', id: `e,live-${k}` });
        await client.until((e) => e.some((x) => x.id.startsWith('e,live')), 500, 'a live event').catch(() => undefined);
      }
      const ids = client.of('m').map((e) => e.id);
      expect(ids.slice(0, BIG_EVENTS)).toEqual(replayed);
      const live = ids.slice(BIG_EVENTS).map((id) => Number(id.slice('e,live-'.length)));
      expect(live.length).toBeGreaterThan(0);
      // Live events after the replay: in order, each once.
      expect(live).toEqual([...new Set(live)].sort((a, b) => a - b));
    }
    // Told once that the id was unknown; the parts after it are exact.
    expect(client.of('history-truncated')).toHaveLength(1);
  }, 60_000);
});
