/**
 * A job process of the cross-instance scenario: it serves no client at all, it only
 * publishes, through the same harness loop as every bench server.
 *
 * `--redis=<url> --key-prefix=<p>`: gripstream with the Redis engine (the same class and call
 * as the instances). `--grip=<control uri>`: gripstream publishing to Pushpin.
 */
import { EventStream } from '../../src/index.ts';
import { cpuTimeMicros, serveTarget } from './harness.ts';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const redis = arg('redis');
const grip = arg('grip');
if (redis === undefined && grip === undefined) throw new Error('publisher.ts needs --redis=<url> or --grip=<uri>');
const eventStream =
  redis !== undefined
    ? new EventStream({ redis: { url: redis, keyPrefix: arg('key-prefix') ?? 'bench:' } })
    : new EventStream({ grip: grip! });

serveTarget(
  {
    publish: (channel, event) => eventStream.publishEvent(channel, event),
    cpuMicros: cpuTimeMicros,
    memory: () => process.memoryUsage(),
    connections: () => 0,
    dropAll: () => Promise.reject(new Error('a publisher holds no streams')),
    close: () => eventStream.close(),
  },
  { type: 'ready', port: 0 },
);
