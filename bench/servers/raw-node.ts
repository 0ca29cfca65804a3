/**
 * The practical floor: no library, just `Map<channel, Set<res>>` and one pre-encoded
 * string written to every subscriber. Nothing here does work a real library could skip.
 */
import type { ServerResponse } from 'node:http';
import { serve, type BenchEvent } from './harness.ts';

const subscribers = new Map<string, Set<ServerResponse>>();

function subscribersOf(channel: string): Set<ServerResponse> {
  let set = subscribers.get(channel);
  if (set === undefined) {
    set = new Set();
    subscribers.set(channel, set);
  }
  return set;
}

function encode({ event, data }: BenchEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

serve({
  subscribe(_req, res, channel) {
    const set = subscribersOf(channel);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    // Send the head now: the client's "connected" means the subscription exists.
    res.flushHeaders();
    set.add(res);
    res.once('close', () => {
      set.delete(res);
      if (set.size === 0) subscribers.delete(channel);
    });
  },
  publish(channel, event) {
    const set = subscribers.get(channel);
    if (set === undefined) return;
    // Encoded once per publish, not once per subscriber.
    const frame = encode(event);
    for (const res of set) res.write(frame);
  },
});
