/**
 * gripstream, this repository's library, from source. In-process delivery only (no GRIP),
 * driven exactly like the reference it mirrors: `run(req, res, channels)` from a plain
 * `node:http` server and `await publishEvent(channel, { event, data })`.
 *
 * `--history` keeps the default in-memory event history (for Last-Event-ID resume);
 * without it the server runs with `{ history: false }`, which is what a pure fan-out
 * deployment would choose. The orchestrator runs both to show what history costs.
 */
import { EventStream } from '../../src/index.ts';
import { serve } from './harness.ts';

const withHistory = process.argv.includes('--history');
const eventStream = new EventStream(withHistory ? {} : { history: false });

serve({
  subscribe: (req, res, channel) => eventStream.run(req, res, [channel]),
  publish: (channel, event) => eventStream.publishEvent(channel, event),
});
