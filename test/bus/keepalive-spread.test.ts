import { describe, expect, it } from 'vitest';
import { KeepAlive } from '../../src/bus/KeepAlive.js';
import type { Subscriber } from '../../src/bus/Subscriber.js';

/** Stand-ins with the two members the keep-alive round uses; real streams are in keepalive-silence.test.ts. */
function idleStreams(count: number): { subscribers: Subscriber[]; sent: () => number } {
  let sent = 0;
  const subscribers = Array.from({ length: count }, () => {
    // Like a real stream, a write resets its count of silent rounds.
    const stream = {
      idleRounds: 0,
      send: () => {
        sent++;
        stream.idleRounds = 0;
      },
    };
    return stream as unknown as Subscriber;
  });
  return { subscribers, sent: () => sent };
}

describe('keep-alive round over many idle streams', () => {
  it('writes its comments a slice at a time, letting the event loop run between slices, and reaches every stream', async () => {
    const { subscribers, sent } = idleStreams(9000);
    const keepAlive = new KeepAlive(40, () => subscribers);
    const turnsSeen: number[] = [];
    keepAlive.start();
    try {
      // Sample what was sent at each turn of the loop until every stream has its comment.
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`only ${sent()} of 9000 comments`)), 5000);
        const sample = (): void => {
          // Only the first full round: on a slow machine the next one may start before a sample.
          if (sent() > 0 && sent() <= 9000 && (turnsSeen.length === 0 || turnsSeen.at(-1) !== sent())) turnsSeen.push(sent());
          if (sent() >= 9000) {
            clearTimeout(deadline);
            resolve();
          } else {
            setImmediate(sample);
          }
        };
        setImmediate(sample);
      });
    } finally {
      keepAlive.stop();
    }
    // Seen between slices: no turn of the loop wrote more than one slice.
    expect(turnsSeen.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < turnsSeen.length; i++) expect(turnsSeen[i]! - turnsSeen[i - 1]!).toBeLessThanOrEqual(2000);
    expect(sent()).toBeGreaterThanOrEqual(9000);
  });
});
