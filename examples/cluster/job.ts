import { EventStream } from '../../src/index.js';

// A background job beside the workers of server.ts: it serves nobody and publishes through the
// same Redis, and every client on every worker gets its events.
//
//   REDIS_URL=redis://127.0.0.1:6379 CHANNEL=ticks COUNT=100 PACE_MS=10 npx tsx examples/cluster/job.ts
//
// Publishes COUNT events (data: 0, 1, 2 …) on CHANNEL, one every PACE_MS, then exits 0.

const eventStream = new EventStream({
  redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: process.env.KEY_PREFIX ?? 'gripstream:' },
});
const channel = process.env.CHANNEL ?? 'ticks';
const count = Number(process.env.COUNT ?? 10);
const pace = Number(process.env.PACE_MS ?? 0);
const first = Number(process.env.FROM ?? 0);

try {
  for (let n = first; n < first + count; n++) {
    await eventStream.publishEvent(channel, { event: 'message', data: String(n) });
    if (pace > 0) await new Promise((resolve) => setTimeout(resolve, pace));
  }
  await eventStream.close();
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
