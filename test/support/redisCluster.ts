/**
 * Test harness: a real Redis Cluster on loopback — six `redis-server` processes (Debian
 * package, `cluster-enabled yes`), joined by `redis-cli --cluster create --cluster-replicas 1`
 * into three masters with one replica each. Ready only when every node reports
 * `cluster_state:ok` AND every replica's link to its master is up (a master killed before its
 * replica's first sync is never replaced: the replica counts as too stale to be elected).
 * Stopped by PID; `killMaster` SIGKILLs a master and waits for its replica's promotion.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { redisAvailable } from './redis.js';

/** The cluster bus listens on the data port + 10000. */
const BUS_OFFSET = 10_000;
/** Node timeout: a dead master is failed over about 2-3 times this after its death. */
const NODE_TIMEOUT_MS = 2000;

export interface ClusterNode {
  port: number;
  url: string;
  pid: number;
  /** True while the process runs. */
  readonly alive: boolean;
  cli(...args: string[]): string;
  /** SIGSTOP: the node hangs with its sockets open (a replica that stops replicating). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `redis://127.0.0.1:P` of every node, for `new Cluster(...)` or the `redis` option. */
  urls: string[];
  /** The live masters, with the slot ranges each serves (from CLUSTER NODES). */
  masters(): Array<{ node: ClusterNode; slots: Array<[number, number]> }>;
  /** The master serving `key`'s slot (CLUSTER KEYSLOT + CLUSTER NODES). */
  masterOf(key: string): ClusterNode;
  /** The live replica of `master` whose link to it is up, if any. */
  replicaOf(master: ClusterNode): ClusterNode | undefined;
  /**
   * SIGKILLs `master` and waits (bounded) until one of its replicas is promoted, serves every
   * slot it served, and every live node reports cluster_state:ok. Returns the new master.
   */
  killMaster(master: ClusterNode): Promise<ClusterNode>;
  /** SIGTERM every node and wait for the exits (bounded). Idempotent. */
  stop(): Promise<void>;
}

/** For `describe.runIf(requireRedisCluster())`: throws under CI=true when missing, else warns loudly. */
export function requireRedisCluster(): boolean {
  const cli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
  if (redisAvailable() && cli) return true;
  const msg = 'redis-server / redis-cli not installed: apt-get install -y redis-server';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${msg} (the Redis Cluster tests must run in CI)`);
  console.warn(`\n!!!!! SKIPPING Redis Cluster tests: ${msg} !!!!!\n`);
  return false;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-cluster-'));
  const ports = await clusterPorts(6);
  const children: ChildProcess[] = [];
  const nodes: ClusterNode[] = [];
  const logs = new Map<number, string>();
  try {
    for (const port of ports) {
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes',
          '--cluster-enabled', 'yes', '--cluster-config-file', path.join(nodeDir, 'nodes.conf'),
          '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
          '--save', '', '--appendonly', 'no', '--dir', nodeDir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      logs.set(port, '');
      const keep = (chunk: Buffer): void => void logs.set(port, (logs.get(port)! + chunk.toString()).slice(-4000));
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      children.push(child);
      nodes.push(nodeOf(port, child));
    }
    await Promise.all(nodes.map((node, i) => waitFor(() => node.cli('PING') === 'PONG', 10_000, () => `node ${node.port} never answered PING:\n${logs.get(node.port)}`, children[i])));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await waitHealthy(nodes, 30_000);
  } catch (err) {
    for (const child of children) child.kill('SIGKILL');
    throw err;
  }

  const cluster: RedisCluster = {
    nodes,
    urls: nodes.map((node) => node.url),
    masters: () => mastersOf(nodes),
    masterOf(key) {
      const slot = Number(liveNode(nodes).cli('CLUSTER', 'KEYSLOT', key));
      const found = mastersOf(nodes).find(({ slots }) => slots.some(([from, to]) => slot >= from && slot <= to));
      if (found === undefined) throw new Error(`no live master serves slot ${slot}`);
      return found.node;
    },
    replicaOf(master) {
      return nodes.find((node) => {
        if (node === master || !node.alive) return false;
        const info = node.cli('INFO', 'replication');
        return info.includes(`master_port:${master.port}`) && info.includes('master_link_status:up');
      });
    },
    async killMaster(master) {
      const before = mastersOf(nodes).find(({ node }) => node === master);
      if (before === undefined) throw new Error(`${master.port} is not a live master`);
      const child = children[nodes.indexOf(master)]!;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      const [from] = before.slots[0]!;
      let promoted: ClusterNode | undefined;
      await waitFor(
        () => {
          promoted = mastersOf(nodes).find(({ node, slots }) => node !== master && slots.some(([a, b]) => from >= a && from <= b))?.node;
          return promoted !== undefined && nodes.every((node) => !node.alive || node.cli('CLUSTER', 'INFO').includes('cluster_state:ok'));
        },
        30_000,
        () => `no replica of ${master.port} was promoted within 30 s`,
      );
      return promoted!;
    },
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = new Promise((resolve) => setTimeout(resolve, 5000));
          await Promise.race([exited, timer]);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/**
 * A Redis Cluster for the tests of one describe: called in the describe's body, it starts one
 * before the first test (a minute at most: six processes, then the slots and replicas settle)
 * and stops it after the last. The handle stands for the running cluster; read it in tests
 * and hooks, not while the describe is being collected.
 */
export function useRedisCluster(): RedisCluster {
  let current: RedisCluster | undefined;
  const running = (): RedisCluster => {
    if (current === undefined) throw new Error('useRedisCluster(): the cluster starts in beforeAll; read it inside a test or hook');
    return current;
  };
  beforeAll(async () => {
    current = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get nodes() {
      return running().nodes;
    },
    get urls() {
      return running().urls;
    },
    masters: () => running().masters(),
    masterOf: (key) => running().masterOf(key),
    replicaOf: (master) => running().replicaOf(master),
    killMaster: (master) => running().killMaster(master),
    stop: () => running().stop(),
  };
}

function nodeOf(port: number, child: ChildProcess): ClusterNode {
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    cli: (...args) => {
      const result = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
      return (result.stdout ?? '').trim();
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
}

/** Every node: cluster_state:ok; every replica: its master link up. */
async function waitHealthy(nodes: ClusterNode[], ms: number): Promise<void> {
  await waitFor(
    () =>
      nodes.every((node) => {
        if (!node.cli('CLUSTER', 'INFO').includes('cluster_state:ok')) return false;
        const replication = node.cli('INFO', 'replication');
        return replication.includes('role:master') || replication.includes('master_link_status:up');
      }),
    ms,
    () => `cluster not healthy within ${ms} ms:\n${nodes.map((node) => `${node.port}: ${node.cli('CLUSTER', 'INFO').split('\n')[0]}`).join('\n')}`,
  );
}

function liveNode(nodes: ClusterNode[]): ClusterNode {
  const node = nodes.find((candidate) => candidate.alive);
  if (node === undefined) throw new Error('no live cluster node');
  return node;
}

function mastersOf(nodes: ClusterNode[]): Array<{ node: ClusterNode; slots: Array<[number, number]> }> {
  const lines = liveNode(nodes).cli('CLUSTER', 'NODES').split('\n');
  const masters: Array<{ node: ClusterNode; slots: Array<[number, number]> }> = [];
  for (const line of lines) {
    const fields = line.trim().split(' ');
    const flags = fields[2]?.split(',') ?? [];
    if (!flags.includes('master') || flags.includes('fail') || flags.includes('fail?')) continue;
    const port = Number(fields[1]!.split(':')[1]!.split('@')[0]);
    const node = nodes.find((candidate) => candidate.port === port);
    if (node === undefined || !node.alive) continue;
    const slots = fields.slice(8).filter((range) => !range.startsWith('[')).map((range): [number, number] => {
      const [from, to] = range.split('-').map(Number);
      return [from!, to ?? from!];
    });
    if (slots.length > 0) masters.push({ node, slots });
  }
  return masters;
}

async function waitFor(check: () => boolean, ms: number, why: () => string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`redis-server exited early: ${why()}`);
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(why());
}

/** `count` free ports below 55535 whose bus port (+10000) is free too, all distinct. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (ports.some((taken) => Math.abs(taken - port) === BUS_OFFSET || taken === port)) continue;
    if ((await free(port)) && (await free(port + BUS_OFFSET))) ports.push(port);
  }
  if (ports.length < count) throw new Error('could not find free cluster ports');
  return ports;
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
