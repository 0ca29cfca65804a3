/**
 * gripstream, this repository's library, from source. In-process delivery only (no GRIP),
 * driven exactly like the reference it mirrors: `run(req, res, channels)` from a plain
 * `node:http` server and `await publishEvent(channel, { event, data })`.
 *
 * `--history` keeps the default in-memory event history (for Last-Event-ID resume);
 * without it the server runs with `{ history: false }`, which is what a pure fan-out
 * deployment would choose. The orchestrator runs both to show what history costs.
 *
 * The cross-instance scenario starts it as one of several instances:
 * `--redis=<url> --key-prefix=<p>` (the Redis engine) or `--grip=<control uri>` (an origin
 * behind Pushpin).
 */
import { EventStream } from '../../src/index.ts';
import { serve } from './harness.ts';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const redis = arg('redis');
const grip = arg('grip');
const withHistory = process.argv.includes('--history');
const eventStream =
  redis !== undefined
    ? new EventStream({ redis: { url: redis, keyPrefix: arg('key-prefix') ?? 'bench:' } })
    : grip !== undefined
      ? new EventStream({ grip })
      : new EventStream(withHistory ? {} : { history: false });

serve({
  subscribe: (req, res, channel) => eventStream.run(req, res, [channel]),
  publish: (channel, event) => eventStream.publishEvent(channel, event),
});
