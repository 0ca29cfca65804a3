/**
 * What accepting one stream costs the server, gripstream against the hand-written floor
 * (issue 25's goal: at most 1.1× the floor's server CPU per accepted stream). Each round starts
 * fresh servers one after the other, in an order that alternates from round to round:
 *
 * - `floor`: bench/servers/raw-node.ts (`writeHead` + `flushHeaders`, a Set per channel);
 * - `gripstream`: bench/servers/gripstream.ts `--history`, the scale scenario's one-process
 *   setup (default options, in-memory history);
 * - `gripstream+redis`: the same with the Redis engine (`--redis`), as each worker of the
 *   multi-worker setup runs it; a private redis-server, whose CPU is counted too.
 *
 * Each server is first warmed up by `warm` streams (left open), then `n` more are opened, at
 * most 1,024 handshakes in flight as in the scale scenario, all on one channel, no
 * Last-Event-ID. The figure is the server's CPU (user + system, read inside it; redis-server's
 * from /proc) from the first connect to the last `200` head, ÷ n; beside it, the JS heap those
 * n streams hold after a full collection, ÷ n (what a change to the accept path keeps). CPU time barely moves when
 * other work shares the machine, and each round's ratio compares servers measured minutes
 * apart at most; the medians over rounds are printed.
 *
 *   npx tsx bench/accept-cost.ts [rounds=5] [n=8000] [warm=1000] [--only=floor,gripstream]
 *                                [--baseline=<another checkout>]
 *
 * `--baseline` adds `gripstream@baseline`: that checkout's bench/servers/gripstream.ts (its own
 * src/), in the same rounds, to see what a change did.
 *
 * BENCH_CPU_PROF_DIR=<dir> has every server write a V8 CPU profile there (bench/processes.ts).
 */
import net from 'node:net';
import { resolve } from 'node:path';
import { median } from './aggregate.ts';
import { Child } from './processes.ts';
import { processCpuMicros } from './proc.ts';
import { pathForChannel, type PublishPlan, type ServerMessage, type ServerRequest, type PublishedReply, type StatsReply } from './protocol.ts';
import { startRedis, type RedisInstance } from '../test/support/redis.ts';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [rounds = 5, n = 8000, warm = 1000] = positional.map(Number);
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
/** Another checkout (a path): its gripstream runs beside this one's, as `gripstream@baseline`. */
const baseline = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);

const CHANNEL = 'accept';
const IN_FLIGHT = 1024;
const STEP_TIMEOUT_MS = 120_000;

interface Variant {
  name: string;
  script: string;
  args(redis: RedisInstance | undefined): string[];
  redis?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'floor', script: 'bench/servers/raw-node.ts', args: () => [] },
  { name: 'gripstream', script: 'bench/servers/gripstream.ts', args: () => ['--history'] },
  {
    name: 'gripstream+redis',
    script: 'bench/servers/gripstream.ts',
    args: (redis: RedisInstance | undefined) => [`--redis=${redis!.url}`, `--key-prefix=accept-${Date.now()}:`],
    redis: true,
  },
  ...(baseline === undefined
    ? []
    : [{ name: 'gripstream@baseline', script: resolve(baseline, 'bench/servers/gripstream.ts'), args: () => ['--history'] }]),
].filter((v) => only === undefined || only.includes(v.name));

type Server = Child<ServerRequest, ServerMessage>;

/** Server CPU so far, µs, read inside the server (a plan of no event publishes nothing). */
async function serverCpu(server: Server): Promise<number> {
  const plan: PublishPlan = { layout: { kind: 'shared', channel: CHANNEL }, events: 0, intervalMs: 0, yieldEvery: 1, deadline: Number.MAX_SAFE_INTEGER };
  const reply = await server.request<PublishedReply>({ type: 'publish', plan }, STEP_TIMEOUT_MS);
  return reply.cpuAtStartMicros;
}

/** Opens `count` streams, `IN_FLIGHT` handshakes at a time; resolves once every one has its `200` head. */
function openStreams(port: number, count: number, into: net.Socket[]): Promise<void> {
  const request = `GET ${pathForChannel(CHANNEL)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
  return new Promise((resolve, reject) => {
    let started = 0;
    let done = 0;
    const startOne = (): void => {
      started++;
      const socket = net.connect({ host: '127.0.0.1', port });
      into.push(socket);
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        // The rest of the stream is not read by this process: drop it as it comes.
        socket.on('data', () => {});
        if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(`not a 200: ${head.split('\r\n')[0]}`));
        done++;
        if (done === count) resolve();
        else if (started < count) startOne();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(request);
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) startOne();
  });
}

/** Per stream accepted: server CPU (µs), and JS heap held after a full collection (bytes). */
interface Cost {
  cpuMicros: number;
  heapBytes: number;
}

async function measure(variant: Variant, redis: RedisInstance | undefined): Promise<Cost> {
  const server: Server = Child.start({ script: variant.script, args: variant.args(redis), label: variant.name });
  const sockets: net.Socket[] = [];
  try {
    const ready = await server.ready(30_000);
    if (ready.type !== 'ready') throw new Error(`${variant.name}: unexpected ${ready.type}`);
    await openStreams(ready.port, warm, sockets);
    // Collects garbage (twice) before the CPU is read: not charged to the accept.
    const heapBefore = (await server.request<StatsReply>({ type: 'stats' }, STEP_TIMEOUT_MS)).memory.heapUsed;
    const redisBefore = variant.redis ? processCpuMicros(redis!.pid) : 0;
    const before = await serverCpu(server);
    await openStreams(ready.port, n, sockets);
    const stats = await server.request<StatsReply>({ type: 'stats' }, STEP_TIMEOUT_MS);
    const redisUsed = variant.redis ? processCpuMicros(redis!.pid) - redisBefore : 0;
    if (stats.connections !== warm + n) throw new Error(`${variant.name}: ${stats.connections} streams open, expected ${warm + n}`);
    return { cpuMicros: (stats.cpuMicros - before + redisUsed) / n, heapBytes: (stats.memory.heapUsed - heapBefore) / n };
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const needsRedis = VARIANTS.some((v) => v.redis);
  const redis = needsRedis ? await startRedis() : undefined;
  const perVariant = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  const heapPerVariant = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  const ratios = new Map<string, number[]>(VARIANTS.filter((v) => v.name !== 'floor').map((v) => [v.name, []]));
  try {
    console.log(`accept cost: ${rounds} rounds, ${n} streams measured per server after ${warm} warm-up streams`);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      const round = new Map<string, number>();
      for (const variant of order) {
        const cost = await measure(variant, redis);
        round.set(variant.name, cost.cpuMicros);
        perVariant.get(variant.name)!.push(cost.cpuMicros);
        heapPerVariant.get(variant.name)!.push(cost.heapBytes);
      }
      const floor = round.get('floor');
      const line = [...round].map(([name, micros]) => `${name} ${micros.toFixed(1)} µs`).join(', ');
      const roundRatios = floor === undefined ? [] : [...ratios.keys()].map((name) => {
        const ratio = round.get(name)! / floor;
        ratios.get(name)!.push(ratio);
        return `${name}/floor ${ratio.toFixed(3)}`;
      });
      console.log(`round ${r + 1}: ${line}${roundRatios.length > 0 ? `; ${roundRatios.join(', ')}` : ''}`);
    }
  } finally {
    await redis?.stop();
  }
  console.log('medians:');
  for (const [name, values] of perVariant) {
    const heap = median(heapPerVariant.get(name)!);
    console.log(`  ${name.padEnd(18)} ${median(values).toFixed(1)} µs per accepted stream (heap held: ${Math.round(heap)} B per stream)`);
  }
  for (const [name, values] of ratios) {
    if (values.length > 0) console.log(`  ${`${name}/floor`.padEnd(18)} ${median(values).toFixed(3)} (median of per-round ratios)`);
  }
}

await main();
