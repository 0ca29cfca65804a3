/**
 * What one per-user publish costs inside the library, history on against `history: false`,
 * without sockets: the per-user scenario's work (5,000 channels with one subscriber each,
 * events of about 100 B of JSON published round-robin, each awaited, a yield every 100) with
 * subscribers whose sink takes every frame at once. Socket writes are most of the per-user
 * scenario's CPU and vary from round to round; this leaves them out, so what history adds
 * shows on its own. Rounds alternate the two; medians and minimums of the CPU per publish.
 *
 *   node --import tsx bench/publish-cost.ts [rounds=10] [events=200000] [channels=5000]
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DEFAULT_MAX_BUFFERED_BYTES } from '../src/config/defaults.js';
import { ChannelBus } from '../src/bus/ChannelBus.js';
import { Subscriber, type StreamSink, type SubscriberHooks } from '../src/bus/Subscriber.js';
import { TickFlusher } from '../src/bus/TickFlusher.js';
import { LocalEngine } from '../src/memory/LocalEngine.js';
import { MemoryHistory } from '../src/memory/MemoryHistory.js';
import { Metrics } from '../src/telemetry/Metrics.js';
import { Dispatcher } from '../src/publish/Dispatcher.js';

const [rounds = 10, events = 200_000, channels = 5_000] = process.argv.slice(2).map(Number);

/** A client that reads everything at once. */
const sink: StreamSink = {
  write: () => true,
  writeAll: () => true,
  onDrain: () => {},
  end: () => {},
  destroy: () => {},
  writableLength: 0,
};

/**
 * The publish path as EventStream assembles it (Dispatcher → LocalEngine → store → bus →
 * Subscriber → tick flush), with the sockets replaced by `sink`.
 */
function publisher(history: boolean): { publish: Dispatcher['publish']; close: () => void } {
  const bus = new ChannelBus();
  const flusher = new TickFlusher();
  const hooks: SubscriberHooks = { maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES, schedule: flusher.schedule, overflow: () => {} };
  for (let i = 0; i < channels; i++) bus.add(new Subscriber(sink, [`u${i}`], hooks));
  const store = history ? new MemoryHistory() : undefined;
  const engine = new LocalEngine(bus, store);
  const dispatcher = new Dispatcher({ engine, grip: undefined, metrics: new Metrics(false), isClosed: () => false });
  return { publish: (channel, batch) => dispatcher.publish(channel, batch), close: () => store?.close() };
}

/** CPU (user + system) per publish, in µs. */
async function round(history: boolean): Promise<number> {
  const { publish, close } = publisher(history);
  const padding = 'x'.repeat(60);
  const before = process.cpuUsage();
  for (let i = 0; i < events; i++) {
    if (i % 100 === 0) await yieldToEventLoop();
    await publish(`u${i % channels}`, [{ event: 'b', data: { n: i, t: Date.now(), p: padding } }]);
  }
  await yieldToEventLoop();
  const used = process.cpuUsage(before);
  close();
  return (used.user + used.system) / events;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const cost = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    cost.off.push(await round(false));
    cost.on.push(await round(true));
  }
  const line = (label: string, values: number[]): string =>
    `${label.padEnd(16)} median ${median(values).toFixed(2)} µs, min ${Math.min(...values).toFixed(2)} µs per publish`;
  console.log(`${events} publishes over ${channels} channels, ${rounds} rounds each, alternating`);
  console.log(line('history: false', cost.off));
  console.log(line('history (default)', cost.on));
  console.log(`history adds ${(median(cost.on) - median(cost.off)).toFixed(2)} µs (medians), ${(Math.min(...cost.on) - Math.min(...cost.off)).toFixed(2)} µs (minimums)`);
}

await main();
