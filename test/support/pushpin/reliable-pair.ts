/**
 * Two instances (origins A and B) behind one real Pushpin in GRIP reliable mode, sharing one
 * history: the set-up of the tests where Pushpin recovers a gap through whichever instance it
 * asks. Pushpin's message_wait is cut to 300 ms so gap recovery shows quickly.
 */
import type { EventStreamOptions } from '../../../src/index.js';
import { freePortPair } from '../ports.js';
import { startPushpin, type PushpinInstance } from '../pushpin.js';
import { startOrigin, type Origin } from './origin.js';

export interface ReliablePair {
  pushpin: PushpinInstance;
  a: Origin;
  b: Origin;
  /** The options both origins were made with. */
  options: EventStreamOptions;
  httpPort: number;
  publishPort: number;
}

/**
 * Starts the pair on `history` (`retry` sent to clients), ready once Pushpin reaches A. The
 * steps that close each part go to `defer` (the caller's clean-up stack, run last in, first
 * out: Pushpin stops before the origins close).
 */
export async function startReliablePair(
  history: EventStreamOptions['history'],
  defer: (...steps: Array<() => Promise<void> | void>) => unknown,
  retry = 200,
): Promise<ReliablePair> {
  const [httpPort, publishPort] = await freePortPair();
  const options: EventStreamOptions = {
    // Reliable mode needs the key Pushpin signs Grip-Sig with (the harness's default).
    grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
    gripReliable: true,
    history,
    retry,
  };
  const a = await startOrigin('A', options);
  const b = await startOrigin('B', options);
  defer(() => a.close(), () => b.close());
  const pushpin = await startPushpin({ originPort: a.port, origins: [a.port, b.port], httpPort, publishPort, messageWait: 300 });
  defer(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  return { pushpin, a, b, options, httpPort, publishPort };
}
