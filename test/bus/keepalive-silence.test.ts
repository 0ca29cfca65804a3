import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { startApp } from '../support/server.js';
import { LibraryTimers } from '../support/timers.js';

// Issue 16, item 10: no stream stays silent longer than keepAliveInterval. The old design
// (one round per interval, a comment only for streams that wrote nothing since the last
// round) let a stream that wrote just after a round stay silent for almost two intervals.
// Measured here as the gaps between bytes received on real sockets.

afterEach(runCleanups);

const INTERVAL = 500;

/** Records when each chunk of bytes arrived. */
function arrivals(client: RawClient): number[] {
  const times: number[] = [];
  client.socket.on('data', () => times.push(performance.now()));
  return times;
}

function longestGap(times: readonly number[]): number {
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest;
}

describe('keep-alive: the longest silence of a stream', () => {
  it(`stays within keepAliveInterval (${INTERVAL} ms), idle streams and streams written just after a round alike`, async () => {
    const timers = LibraryTimers.start();
    try {
      const es = track(new EventStream({ keepAliveInterval: INTERVAL, history: false }));
      const app = express();
      app.get('/idle', es('idle'));
      app.get('/busy', es('busy'));
      const { port } = await startApp(app);
      const idle = await Promise.all([0, 1].map(() => RawClient.get(port, { path: '/idle' })));
      const busy = await Promise.all([0, 1].map(() => RawClient.get(port, { path: '/busy' })));
      const clients = [...idle, ...busy];
      const times = clients.map(arrivals);
      await Promise.all(clients.map((c) => c.waitForEvents(1)));
      // Each keep-alive on an idle stream marks a timer round: publishing right after it is the
      // worst case for a design that only looks at whole rounds.
      const marker = idle[0]!;
      for (let i = 0; i < 8; i++) {
        const seen = marker.comments.length;
        await marker.waitFor((c) => c.comments.length > seen, 'the next keep-alive round', 5 * INTERVAL);
        await es.publishEvent('busy', { event: 'tick', data: i });
      }
      // The silence after the last event ends with a keep-alive: wait for it on every stream.
      const counts = busy.map((c) => c.comments.length);
      await Promise.all(busy.map((c, k) => c.waitFor((x) => x.comments.length > counts[k]!, 'a keep-alive after the last event', 5 * INTERVAL)));
      await Promise.all(idle.map((c) => c.waitFor((x) => x.comments.length >= 4, 'keep-alives', 5 * INTERVAL)));
      const gaps = times.map(longestGap);
      console.info(`[bus/keepalive-silence] interval ${INTERVAL} ms; longest silence per stream (idle, idle, busy, busy): ${gaps.map((g) => Math.round(g)).join(', ')} ms`);
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(INTERVAL);
      expect(busy.every((c) => c.events.filter((e) => e.event === 'tick').length === 8)).toBe(true);
      // Still one timer for every stream.
      expect(timers.created).toHaveLength(1);
    } finally {
      timers.stop();
    }
  });
});
