/**
 * Model-based property of multi-channel streams on the real Redis engine, on one Redis and on a
 * real Redis Cluster (issue 21). Two publishing processes publish to overlapping channel sets
 * the whole time; two instances (EventStreams with HTTP servers) serve clients that fast-check
 * connects, lets read, drops and resumes (on either instance) at random points, so feeds start
 * and stop mid-publish; on one Redis, Redis is also killed and restarted (with its data).
 *
 * The model is the truth Redis kept: every event of every channel with its position, read at
 * the end. Each client's whole life (all its sessions, each resume from the last id it got)
 * must then be:
 *   - one order: on one Redis, ids that only grow and, after its first event, every event of
 *     its channels in position order with none missing and none twice — across resumes too;
 *     on a Cluster (ids are cursors), the same per channel;
 *   - or an explicit `history-truncated`, after which the check starts again.
 *
 * Fixed seed in CI; GRIPSTREAM_PROPERTY_RUNS=<n> (and GRIPSTREAM_PROPERTY_SEED=<n>) for more.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient, type RawEvent } from '../support/raw.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { requireRedisCluster, useRedisCluster } from '../support/redisCluster.js';
import { startHttp } from '../support/server.js';
import { withTimeout } from '../support/wait.js';
import { startPublisher } from '../support/publisher.js';

const SEED = Number(process.env.GRIPSTREAM_PROPERTY_SEED ?? 20261207);
const RUNS = Number(process.env.GRIPSTREAM_PROPERTY_RUNS ?? 3);
const WAIT = 8000;
const CHANNELS = ['A', 'B', 'C'] as const;
const ROUTES: ReadonlyArray<readonly string[]> = [['A', 'B'], ['B', 'C'], ['A', 'B', 'C'], ['C', 'A']];
const CLIENTS = 3;

/**
 * One step for one client. What it does depends on the client's state: a client with no life
 * yet connects, one between sessions resumes; otherwise `op` says. Every (re)connection then
 * reads `events` events, so each step moves events.
 */
interface Action {
  op: 'read' | 'drop' | 'resume' | 'connect' | 'restart-redis';
  client: number;
  instance: number;
  route: number;
  events: number;
}

function actions(withRestart: boolean): fc.Arbitrary<Action[]> {
  const ops: Array<{ arbitrary: fc.Arbitrary<Action['op']>; weight: number }> = [
    { arbitrary: fc.constant('read'), weight: 4 },
    { arbitrary: fc.constant('drop'), weight: 3 },
    { arbitrary: fc.constant('resume'), weight: 3 },
    { arbitrary: fc.constant('connect'), weight: 1 },
  ];
  if (withRestart) ops.push({ arbitrary: fc.constant('restart-redis'), weight: 1 });
  const step = fc.record({
    op: fc.oneof(...ops),
    client: fc.integer({ min: 0, max: CLIENTS - 1 }),
    instance: fc.integer({ min: 0, max: 1 }),
    route: fc.integer({ min: 0, max: ROUTES.length - 1 }),
    events: fc.integer({ min: 1, max: 20 }),
  });
  return fc.array(step, { minLength: 8, maxLength: 16 });
}

/** One client's life: its route, every event it got in order (all sessions), and where it resumed. */
interface Life {
  route: readonly string[];
  events: RawEvent[];
  /** Index into `events` where each resume began (the checker knows where sessions meet). */
  current: RawClient | undefined;
  sessions: RawClient[];
}

interface Backend {
  urls: string;
  sharded: boolean;
  restart?: () => Promise<void>;
  truth(prefix: string): Promise<Map<string, Array<{ seq: number; data: string }>>>;
}

const tally = { runs: 0, sessions: 0, resumes: 0, events: 0, truncated: 0, restarts: 0 };

async function runScenario(backend: Backend, scenario: Action[]): Promise<void> {
  tally.runs++;
  const prefix = `prop-${randomUUID()}:`;
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const urls = backend.urls.split(',');
    const target = urls.length === 1 ? { url: urls[0]! } : { nodes: urls };
    const es = track(new EventStream({ redis: { ...target, keyPrefix: prefix, commandTimeout: 4000 }, retry: 100, history: { maxEvents: 100_000 } }));
    const server = await startHttp((req, res) => void es(new URL(req.url!, 'http://x').pathname.slice(1).split(','))(req, res));
    ports.push(Number(new URL(server.url).port));
  }
  const publishers: ChildProcess[] = [
    await startPublisher(backend.urls, prefix, ['A', 'B', 'C'], 'p', 2),
    await startPublisher(backend.urls, prefix, ['C', 'B'], 'q', 3),
  ];
  const lives: Array<Life | undefined> = Array.from({ length: CLIENTS }, () => undefined);
  const open = async (life: Life, port: number): Promise<void> => {
    const last = life.events.filter((e) => e.event === 'message').at(-1)?.id;
    const headers: Record<string, string> = last === undefined ? {} : { 'Last-Event-ID': last };
    const session = await RawClient.get(port, { path: `/${life.route.join(',')}`, headers });
    life.current = session;
    life.sessions.push(session);
    tally.sessions++;
    if (last !== undefined) tally.resumes++;
    await session.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
  };
  const close = (life: Life): void => {
    if (life.current === undefined) return;
    life.current.destroy();
    life.events.push(...life.current.events.filter((e) => e.event !== 'stream-open'));
    life.current = undefined;
  };
  const read = async (life: Life, events: number): Promise<void> => {
    const session = life.current!;
    const have = session.events.length;
    await session.waitFor((c) => c.events.length >= have + events, `${events} more events`, WAIT);
  };
  for (const action of scenario) {
    let life = lives[action.client];
    if (action.op === 'restart-redis') {
      tally.restarts++;
      await backend.restart!();
    } else if (life === undefined || action.op === 'connect') {
      if (life !== undefined) close(life);
      life = { route: ROUTES[action.route]!, events: [], current: undefined, sessions: [] };
      lives[action.client] = life;
      await open(life, ports[action.instance]!);
      await read(life, action.events);
    } else if (life.current === undefined || action.op === 'resume') {
      close(life);
      await open(life, ports[action.instance]!);
      await read(life, action.events);
    } else if (action.op === 'read') {
      await read(life, action.events);
    } else {
      close(life);
    }
  }
  // Every client resumes once more at the end: the last resume is checked too.
  for (const [k, life] of lives.entries()) {
    if (life === undefined) continue;
    close(life);
    await open(life, ports[k % 2]!);
    await read(life, 5);
  }
  for (const life of lives) if (life !== undefined) close(life);
  for (const child of publishers) {
    if (child.connected) child.disconnect();
    await withTimeout(once(child, 'exit'), WAIT, 'publisher exit');
  }
  const truth = await backend.truth(prefix);
  for (const life of lives) if (life !== undefined) check(life, truth, backend.sharded);
}

/** The invariant, over one client's whole life (see the file comment). */
function check(life: Life, truth: Map<string, Array<{ seq: number; data: string }>>, sharded: boolean): void {
  const where = new Map<string, { channel: string; seq: number }>();
  for (const channel of life.route) for (const entry of truth.get(channel) ?? []) where.set(entry.data, { channel, seq: entry.seq });
  // One Redis: one order across the route's channels. Cluster: one order per channel.
  const orderOf = (channel: string): string => (sharded ? channel : '*');
  const merged = new Map<string, number[]>();
  for (const channel of life.route) {
    const list = merged.get(orderOf(channel)) ?? [];
    for (const entry of truth.get(channel) ?? []) list.push(entry.seq);
    merged.set(orderOf(channel), list);
  }
  for (const list of merged.values()) list.sort((a, b) => a - b);
  const index = new Map<string, Map<number, number>>();
  for (const [key, list] of merged) index.set(key, new Map(list.map((seq, k) => [seq, k])));
  let previous = new Map<string, number>();
  let lastId: number | undefined;
  for (const event of life.events) {
    if (event.event === 'history-truncated') {
      tally.truncated++;
      previous = new Map();
      lastId = undefined;
      continue;
    }
    tally.events++;
    const found = where.get(JSON.parse(event.data) as string);
    expect(found, `an event not in the channels' history: ${event.data}`).toBeDefined();
    const key = orderOf(found!.channel);
    const k = index.get(key)!.get(found!.seq)!;
    const before = previous.get(key);
    if (before !== undefined && k !== before + 1) {
      const list = merged.get(key)!;
      const missing = list.slice(Math.min(k, before + 1), Math.max(k, before + 1));
      console.log(`client on ${life.route.join(',')}: sessions ${life.sessions.length}; got ${event.id} after #${before}; the order has there: ${missing.join(', ')}; ids got: ${life.events.map((e) => e.id ?? e.event).join(' ')}`);
    }
    if (before !== undefined) {
      expect(k, `after position #${before} of ${key} came #${k} (${found!.channel}): ${k <= before ? 'backwards or twice' : 'a gap'}`).toBe(before + 1);
    }
    previous.set(key, k);
    if (!sharded) {
      const id = Number(event.id);
      if (lastId !== undefined) expect(id, 'ids only grow').toBeGreaterThan(lastId);
      lastId = id;
    }
  }
}

/** Every channel's events as the store keeps them, read through a client of its own (`connect`). */
async function truthFrom(connect: () => Redis | Cluster, prefix: string): Promise<Map<string, Array<{ seq: number; data: string }>>> {
  const client = connect();
  try {
    const truth = new Map<string, Array<{ seq: number; data: string }>>();
    for (const channel of CHANNELS) {
      const entries = (await client.xrange(`${prefix}{${channel}}:s`, '-', '+')) as Array<[string, string[]]>;
      truth.set(
        channel,
        entries.map(([id, fields]) => ({ seq: Number(id.split('-')[0]), data: JSON.parse(fields[fields.indexOf('d') + 1]!) as string })),
      );
    }
    return truth;
  } finally {
    client.disconnect();
  }
}

/** The property over `backend`, with fast-check's fixed seed; each run's clients, servers and instances closed after it. */
async function holdsOn(backend: Backend, name: string): Promise<void> {
  await fc.assert(
    fc.asyncProperty(actions(backend.restart !== undefined), async (scenario) => {
      try {
        await runScenario(backend, scenario);
      } finally {
        await runCleanups();
      }
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  report(name);
}

function report(name: string): void {
  console.log(`${name}: ${JSON.stringify(tally)}`);
  for (const key of Object.keys(tally) as Array<keyof typeof tally>) tally[key] = 0;
}

const hasRedis = requireRedis();
describe.runIf(hasRedis)('property: multi-channel streams on one Redis', () => {
  const redis = useRedis({ persistent: true });
  afterEach(runCleanups);

  it('one order, ids that grow, each event once or history-truncated (clients drop and resume, Redis restarts)', async () => {
    const backend: Backend = {
      get urls() {
        return redis.url;
      },
      sharded: false,
      restart: async () => {
        await redis.restart({ keepData: true });
      },
      truth: (prefix) => truthFrom(() => new Redis(redis.url), prefix),
    };
    await holdsOn(backend, 'one Redis');
  }, 120_000);
});

const hasCluster = requireRedisCluster();
describe.runIf(hasCluster)('property: multi-channel streams on a Redis Cluster', () => {
  const cluster = useRedisCluster();
  afterEach(runCleanups);

  it('one order per channel (cursor ids), each event once or history-truncated (clients drop and resume)', async () => {
    const backend: Backend = {
      urls: cluster.urls.join(','),
      sharded: true,
      truth: (prefix) => truthFrom(() => new Cluster(cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) }))), prefix),
    };
    await holdsOn(backend, 'Cluster');
  }, 120_000);
});
