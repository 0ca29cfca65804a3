import { afterEach, describe, expect, it } from 'vitest';
import { type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { Listener, startOrigin, type Origin } from '../support/pushpin/origin.js';

// A publisher's event id goes into GRIP headers (the hold's `prev-id`, the items' ids, and back
// in Grip-Last). Whatever it holds, it must never change those headers' structure: before
// the fix, an id such as `msg-1, events-admin` subscribed a held client to `admin`, a channel
// its route's authorize refuses, and an id `a,b` made every new hold replay twice.

afterEach(runCleanups);

async function behindPushpin(): Promise<{ origin: Origin; httpPort: number }> {
  const [httpPort, publishPort] = await freePortPair();
  const options: EventStreamOptions = {
    grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
    gripReliable: true,
    authorize: (_req, channels) => !channels.includes('admin'),
  };
  const origin = await startOrigin('A', options);
  defer(() => origin.close());
  const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
  defer(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  return { origin, httpPort };
}

function listen(httpPort: number, path: string, types: string[]): Listener {
  const listener = new Listener(`http://127.0.0.1:${httpPort}${path}`, types);
  defer(() => listener.close());
  return listener;
}

describe.runIf(requirePushpin())('event ids never change a GRIP header (real Pushpin, reliable mode)', () => {
  it('an id naming another channel does not subscribe a client held on /room to it', async () => {
    const { origin, httpPort } = await behindPushpin();
    const es = origin.eventStream;
    // The route refuses admin outright.
    const refused = await fetch(`http://127.0.0.1:${httpPort}/events/admin`, {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.timeout(5000),
    });
    expect(refused.status).toBe(403);
    await refused.text();

    await es.publishEvent('room', { event: 'room', data: 'first', id: 'msg-1, events-admin' });
    const client = listen(httpPort, '/events/room', ['room', 'admin']);
    await client.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'room open');
    await es.publishEvent('admin', { event: 'admin', data: 'secret' });
    // A marker on room, published after the admin event: once it is there, the admin event had
    // its chance to arrive first (one proxy, one handler, publish order).
    await es.publishEvent('room', { event: 'room', data: 'marker', id: 'msg-2; x="y"' });
    await client.until((e) => e.some((x) => x.data === '\"marker\"'), 8000, 'room marker');
    expect(client.of('admin')).toEqual([]);
    expect(client.of('room').map((e) => [JSON.parse(e.data), e.id])).toEqual([['marker', 'msg-2; x="y"']]);
    expect(client.of('history-truncated')).toEqual([]);
  });

  it('after an event with id a,b a new hold gets history once: no doubled notice, no doubled events', async () => {
    const { origin, httpPort } = await behindPushpin();
    const es = origin.eventStream;
    await es.publishEvent('c', { event: 'm', data: 'one', id: 'x1' });
    await es.publishEvent('c', { event: 'm', data: 'two', id: 'a,b' });
    // A fresh client (held at prev-id a,b) and one resuming from an id never handed out
    // (history-truncated, then the whole replay in the hold).
    const fresh = listen(httpPort, '/events/c', ['m']);
    const resumed = listen(httpPort, '/events/c?lastEventId=junk', ['m']);
    await fresh.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'fresh open');
    await resumed.until((e) => e.filter((x) => x.type === 'm').length >= 2, 5000, 'replay');
    await es.publishEvent('c', { event: 'm', data: 'three', id: 'c"d' });
    // A position the proxy misread shows as a gap on the next item: recovery replays (message_wait
    // is 300 ms). The fourth event comes after that would have happened.
    await fresh.until((e) => e.some((x) => x.data === '\"three\"'), 8000, 'fresh live');
    await es.publishEvent('c', { event: 'm', data: 'four', id: 'e=f' });
    await fresh.until((e) => e.some((x) => x.data === '\"four\"'), 8000, 'fresh fourth');
    await resumed.until((e) => e.some((x) => x.data === '\"four\"'), 8000, 'resumed fourth');
    expect(fresh.of('history-truncated')).toEqual([]);
    expect(fresh.of('m').map((e) => [JSON.parse(e.data), e.id])).toEqual([
      ['three', 'c"d'],
      ['four', 'e=f'],
    ]);
    expect(resumed.of('history-truncated')).toHaveLength(1);
    expect(resumed.of('m').map((e) => [JSON.parse(e.data), e.id])).toEqual([
      ['one', 'x1'],
      ['two', 'a,b'],
      ['three', 'c"d'],
      ['four', 'e=f'],
    ]);
  });
});
