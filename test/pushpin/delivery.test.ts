import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { GripPublishError, type EventStreamOptions } from '../../src/index.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin, type PushpinInstance } from '../support/pushpin.js';
import { Listener, startOrigin, within, type Origin } from '../support/pushpin/origin.js';

// End to end through Debian's Pushpin: clients connect to Pushpin, Pushpin asks the origin,
// the origin answers with GRIP hold instructions, publishes go to Pushpin's publish API.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Ports {
  httpPort: number;
  publishPort: number;
  controlUri: string;
}

/** Pushpin's ports are chosen first, so origins can be configured with its publish URL. */
async function choosePorts(): Promise<Ports> {
  const [httpPort, publishPort] = await freePortPair();
  return { httpPort, publishPort, controlUri: `http://127.0.0.1:${publishPort}/` };
}

async function origin(name: string, options: EventStreamOptions): Promise<Origin> {
  const started = await startOrigin(name, options);
  cleanups.push(() => started.close());
  return started;
}

async function pushpinFor(ports: Ports, origins: Origin[], sigKey?: string): Promise<PushpinInstance> {
  const pushpin = await startPushpin({
    originPort: origins[0]!.port,
    origins: origins.map((o) => o.port),
    httpPort: ports.httpPort,
    publishPort: ports.publishPort,
    sigKey,
  });
  cleanups.push(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  return pushpin;
}

function listen(pushpin: PushpinInstance, path: string): Listener {
  const listener = new Listener(`http://127.0.0.1:${pushpin.httpPort}${path}`);
  cleanups.push(() => listener.close());
  return listener;
}

const opened = (events: { type: string }[]): boolean => events.some((e) => e.type === 'stream-open');
const count = (type: string, n: number) => (events: { type: string }[]) => events.filter((e) => e.type === type).length >= n;

describe.runIf(requirePushpin())('through a real Pushpin', () => {
  it('delivers from publishEvent, a channel publisher and a Writable, in order', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: ports.controlUri });
    const pushpin = await pushpinFor(ports, [a]);
    const client = listen(pushpin, '/events/news');
    await client.until(opened, 5000, 'stream-open through pushpin');
    expect(a.holds).toBe(1);
    expect(a.eventStream.stats().connections).toBe(0); // the proxy holds it, not the origin

    await a.eventStream.publishEvent('news', { event: 'm', data: { n: 1 } });
    await a.eventStream.getChannelPublisher('news').publishEvent({ event: 'm', data: { n: 2 } });
    const events = Array.from({ length: 500 }, (_, i) => ({ event: 'm', data: { n: i + 3 } }));
    await pipeline(Readable.from(events), a.eventStream.createChannelWritable('news'));

    await client.until(count('m', 502), 10_000, '502 events');
    const received = client.of('m').map((e) => (JSON.parse(e.data) as { n: number }).n);
    expect(received).toEqual(Array.from({ length: 502 }, (_, i) => i + 1));
    expect(client.of('m').every((e) => e.id !== '')).toBe(true);
  });

  it('serves several channels with a custom prefix, isolated from each other', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: ports.controlUri, gripPrefix: 'app.' });
    const pushpin = await pushpinFor(ports, [a]);
    const both = listen(pushpin, '/multi');
    const onlyC = listen(pushpin, '/events/c');
    await both.until(opened, 5000, 'multi open');
    await onlyC.until(opened, 5000, 'c open');
    await a.eventStream.publishEvent('a', { event: 'm', data: 'to a' });
    await a.eventStream.publishEvent('c', { event: 'm', data: 'to c' });
    await a.eventStream.publishEvent('b', { event: 'm', data: 'to b' });
    await both.until(count('m', 2), 5000, 'a and b');
    await onlyC.until(count('m', 1), 5000, 'c');
    expect(both.of('m').map((e) => JSON.parse(e.data))).toEqual(['to a', 'to b']);
    expect(onlyC.of('m').map((e) => JSON.parse(e.data))).toEqual(['to c']);
  });

  it('works signed (Pushpin sig_key = EventStream key) and refuses a forged Grip-Sig with 403', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: { control_uri: ports.controlUri, control_iss: 'pushpin', key: 'pp-secret' } });
    const pushpin = await pushpinFor(ports, [a], 'pp-secret');
    const client = listen(pushpin, '/events/s');
    await client.until(opened, 5000, 'signed open');
    expect(a.holds).toBe(1);
    await a.eventStream.publishEvent('s', { event: 'm', data: 'signed' });
    await client.until(count('m', 1), 5000, 'signed event');

    const forged = await fetch(`http://127.0.0.1:${a.port}/events/s`, {
      headers: { 'Grip-Sig': 'forged.garbage.sig', Accept: 'text/event-stream' },
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(/^Grip-Sig is not valid/);
  });

  it('a Pushpin signing with another key is refused by the origin', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: { control_uri: ports.controlUri, control_iss: 'pushpin', key: 'origin-key' } });
    const pushpin = await startPushpin({ originPort: a.port, httpPort: ports.httpPort, publishPort: ports.publishPort, sigKey: 'other-key' });
    cleanups.push(() => pushpin.stop());
    const res = await within(
      fetch(`http://127.0.0.1:${pushpin.httpPort}/events/s`, { headers: { Accept: 'text/event-stream' } }),
      5000,
      'request through a wrongly keyed pushpin',
    );
    // Pushpin may answer its own error first while it warms up; the origin's 403 must show eventually.
    expect([403, 500, 502]).toContain(res.status);
    await pushpin.waitForOrigin('/events/s').catch(() => undefined);
    const settled = await fetch(`http://127.0.0.1:${pushpin.httpPort}/events/s`, { headers: { Accept: 'text/event-stream' } });
    expect(settled.status).toBe(403);
    expect(a.holds).toBe(0);
  });

  it('two origin instances behind one Pushpin: clients held by one get what the other publishes', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: ports.controlUri });
    const b = await origin('B', { grip: ports.controlUri });
    const pushpin = await pushpinFor(ports, [a, b]);
    const heldBy = new Map<Listener, Origin>();
    const connect = async (): Promise<Listener> => {
      const before = [a.holds, b.holds];
      const client = listen(pushpin, '/events/room');
      await client.until(opened, 5000, 'open');
      heldBy.set(client, a.holds > before[0]! ? a : b);
      return client;
    };
    const first = await connect();
    const second = await connect();
    // Take the instance that served them away: the next client must be served by the other.
    const served = heldBy.get(first)!;
    const other = served === a ? b : a;
    await served.close();
    const third = await connect();
    expect(heldBy.get(third)).toBe(other);

    await other.eventStream.publishEvent('room', { event: 'm', data: `from ${other.name}` });
    for (const client of [first, second, third]) {
      await client.until(count('m', 1), 5000, `event from ${other.name}`);
      expect(client.of('m').map((e) => JSON.parse(e.data))).toEqual([`from ${other.name}`]);
    }
    expect(heldBy.get(first)).not.toBe(other); // held by one instance, fed by the other
  });

  it('rejects publishEvent with a typed error while Pushpin is down, and recovers', async () => {
    const ports = await choosePorts();
    const a = await origin('A', { grip: ports.controlUri });
    const pushpin = await pushpinFor(ports, [a]);
    await a.eventStream.publishEvent('x', { event: 'm', data: 1 });
    await pushpin.stop();
    const failure = await within(
      a.eventStream.publishEvent('x', { event: 'm', data: 2 }).catch((err: unknown) => err),
      5000,
      'publish to a stopped pushpin',
    );
    expect(failure).toBeInstanceOf(GripPublishError);
    expect((failure as GripPublishError).code).toBe('ERR_GRIP_PUBLISH');
    const again = await pushpinFor(ports, [a]);
    const client = listen(again, '/events/x');
    await client.until(opened, 5000, 'open after restart');
    await a.eventStream.publishEvent('x', { event: 'm', data: 3 });
    await client.until(count('m', 1), 5000, 'event after restart');
  });
});
