import { createHash } from 'node:crypto';
import { HistoryError, InvalidConfigError, RedisTimeoutError } from '../errors.js';
import { ioredisInstalled } from './ioredisInstalled.js';
import { isLateRefusal } from './scripts/deadline.js';
import type { RedisClientLike, RedisSubscriberLike } from '../redisClient.js';
import { now, type Metrics } from '../telemetry/Metrics.js';
import { redisConnectionOf, redisNodeOf } from '../config/redis.js';


export interface RedisConnectionOptions {
  /**
   * A `redis://` / `rediss://` URL, a list of them (the startup nodes of a Redis Cluster), or
   * a client you configured (Sentinel, TLS, an ioredis `Cluster`); yours is not closed by us.
   */
  redis: string | readonly string[] | RedisClientLike;
  /** Milliseconds a Redis call may take before it rejects with `RedisTimeoutError` (default 2000). */
  commandTimeout?: number;
}

interface Clock {
  /** A lower bound of (Redis clock − our clock), in ms. */
  offset: number;
  at: number;
}

/**
 * One Redis connection as the store and the engine use it: scripts by SHA (loaded once, EVAL
 * when Redis answers NOSCRIPT), every call bounded by `commandTimeout`, and an estimate of
 * Redis's clock so that a write can carry a deadline Redis itself enforces.
 *
 * Why a deadline in Redis's clock: a call that timed out here may still be sitting in a
 * frozen Redis's socket buffer; when Redis thaws it would run, and a publish we reported as
 * failed would take effect (a retry would duplicate it). The script refuses to run past the
 * deadline, which is set a quarter of the timeout before our own timer fires, so a reply
 * that Redis sent in time is read before we give up.
 */
export class RedisLink {
  readonly timeoutMs: number;
  private readonly client: Promise<RedisClientLike>;
  /** The client once made: its status tells, when a call times out, a Redis down from a frozen one. */
  private connected: RedisClientLike | undefined;
  private readonly ownsClient: boolean;
  private readonly url: string | readonly string[] | undefined;
  /**
   * True on a Redis Cluster (a list of node URLs, or a client whose `isCluster` is true): the
   * store then keeps no key shared by channels, and the engine uses sharded pub/sub.
   */
  readonly cluster: boolean;
  /** What this link was given to connect to (URLs or a client): health reports name it. */
  readonly target: string | readonly string[] | RedisClientLike;
  private clock: Clock | undefined;
  private readonly shas = new Map<string, string>();
  private readyWait: Promise<void> | undefined;
  /** Counts command latency, errors and reconnects; set by the EventStream that owns the link. */
  metrics: Metrics | undefined;
  private stopCounting: (() => void) | undefined;
  /** `host:port` (or a list of them) for error messages; never the credentials of a URL. */
  readonly address: string;
  /** The last error our own connection reported: why Redis is "not reachable" (a refused password, a refused connection). */
  private lastError: unknown;

  constructor(options: RedisConnectionOptions) {
    this.timeoutMs = redisConnectionOf(options).timeoutMs;
    const target = options.redis;
    this.target = target;
    const owned = typeof target === 'string' || Array.isArray(target);
    if (owned && !ioredisInstalled()) {
      throw new InvalidConfigError(
        `a Redis URL (${addressOf(target)}) needs the optional package ioredis, which is not installed: npm install ioredis, or give a Redis client you made`,
      );
    }
    this.ownsClient = owned;
    this.url = owned ? (target as string | readonly string[]) : undefined;
    this.address = addressOf(target);
    this.cluster = Array.isArray(target) || (!owned && (target as { isCluster?: unknown }).isCluster === true);
    this.client = owned ? connect(target as string | readonly string[], { role: 'commands', onError: (err) => (this.lastError = err) }) : Promise.resolve(target as RedisClientLike);
    // An unused store must not crash the process with an unhandled rejection.
    this.client.then(
      (client) => {
        this.connected = client;
        this.countReconnects(client);
      },
      () => undefined,
    );
  }

  /** The client's connection status (`'ready'` when commands run); undefined before it is made. */
  get status(): string | undefined {
    return this.connected?.status;
  }

  /** Every `ready` after the first is the link coming back. The listener leaves at close() (the app's client outlives us). */
  private countReconnects(client: RedisClientLike): void {
    const on = (client as { on?: (event: string, listener: () => void) => unknown }).on;
    if (typeof on !== 'function') return;
    let readies = client.status === 'ready' ? 1 : 0;
    const listener = (): void => {
      if (++readies > 1 && this.metrics !== undefined) this.metrics.redisReconnects++;
    };
    on.call(client, 'ready', listener);
    this.stopCounting = () => client.off('ready', listener);
  }

  /**
   * Runs a write script with, as ARGV[1], the deadline in Redis's clock after which the
   * script must refuse (see the class comment).
   */
  async write(source: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown[]> {
    const started = Date.now();
    return this.bounded('a publish', async () => {
      const client = await this.ready(started);
      const limit = await this.deadline(client, started);
      return (await this.evaluate(client, source, keys, [limit, ...args], true)) as unknown[];
    });
  }

  /** A read script: no deadline (a late read changes nothing). */
  async read(source: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const started = Date.now();
    return this.bounded('a read', async () => this.evaluate(await this.ready(started), source, keys, args, false));
  }

  /** Any command, bounded. */
  async command(command: string, ...args: Array<string | number>): Promise<unknown> {
    const started = Date.now();
    return this.bounded(command, async () => (await this.ready(started)).call(command, ...args));
  }

  /**
   * A new connection for pub/sub, with the same target. On a Cluster: a Cluster client with
   * one sharded subscriber connection per master (SSUBSCRIBE is routed by slot).
   */
  async subscriber(): Promise<RedisSubscriberLike> {
    if (this.url !== undefined) return (await connect(this.url, { role: 'subscriber' })) as unknown as RedisSubscriberLike;
    const client = await this.client;
    if (this.cluster) {
      const duplicate = (client as unknown as { duplicate(nodes?: unknown[], options?: object): RedisSubscriberLike }).duplicate;
      return duplicate.call(client, undefined, { shardedSubscribers: true });
    }
    return client.duplicate();
  }

  /** Feeds the clock estimate with Redis's time (ms) seen in a reply that arrived now. */
  observe(redisNowMs: number): void {
    const now = Date.now();
    // The script ran between sending and now: redisNow − now is a lower bound of the offset
    // (minus 1 ms for the rounding of both clocks to whole ms).
    const offset = redisNowMs - now - 1;
    if (this.clock === undefined || offset > this.clock.offset || now - this.clock.at > 10_000) {
      this.clock = { offset, at: now };
    }
  }

  /**
   * A position (µs of Redis's clock) no later than Redis's clock was at local time `at`:
   * every event appended after `at` has a larger position (positions are at least the append
   * time). Asks Redis for its TIME once if no reply has told it yet.
   */
  async redisTimeAt(at: number): Promise<number> {
    if (this.clock === undefined) {
      const started = Date.now();
      await this.bounded('TIME', async () => {
        const [seconds, micros] = (await (await this.ready(started)).call('TIME')) as [string, string];
        this.observe(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
      });
    }
    return (at + this.clock!.offset) * 1000;
  }

  /** `redisTimeAt` when the clock is known already (no call to Redis), else undefined. */
  redisTimeKnown(at: number): number | undefined {
    return this.clock === undefined ? undefined : (at + this.clock.offset) * 1000;
  }

  async close(): Promise<void> {
    // Awaited first: the reconnect listener is attached when the client settles, so a link
    // closed right after it was made (a refused construction) still removes it.
    const client = await this.client.catch(() => undefined);
    this.stopCounting?.();
    if (!this.ownsClient) return;
    client?.disconnect();
  }

  private async deadline(client: RedisClientLike, started: number): Promise<number> {
    if (this.clock === undefined) {
      const [seconds, micros] = (await client.call('TIME')) as [string, string];
      this.observe(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    }
    return Math.floor(started + this.clock!.offset + this.timeoutMs * 0.75);
  }

  private async evaluate(
    client: RedisClientLike,
    source: string,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
    timed: boolean,
  ): Promise<unknown> {
    const sha = this.sha(source);
    let reply: unknown;
    try {
      reply = await client.call('EVALSHA', sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      reply = await client.call('EVAL', source, keys.length, ...keys, ...args);
    }
    if (timed && Array.isArray(reply)) this.observe(Number(reply[0]));
    return reply;
  }

  private sha(source: string): string {
    let sha = this.shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      this.shas.set(source, sha);
    }
    return sha;
  }

  /** Waits for a (re)connecting client within the call's time budget. */
  private async ready(started: number): Promise<RedisClientLike> {
    let client: RedisClientLike;
    try {
      client = await this.client;
    } catch (err) {
      throw new HistoryError(clientFailure(err, this.address), err);
    }
    if (client.status === 'ready') return client;
    // An ioredis client made with lazyConnect waits for a connect() that, since we send
    // commands only once it is ready, would never come: we make it, as its first command would.
    if (client.status === 'wait') startLazyClient(client);
    // One listener per reconnection, however many calls wait for it.
    this.readyWait ??= new Promise<void>((resolve) => {
      client.once('ready', () => {
        this.readyWait = undefined;
        resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.readyWait,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, started + this.timeoutMs - Date.now())))),
    ]);
    clearTimeout(timer);
    // Still not connected when the budget ran out: Redis is down, not slow; say so (the
    // rejection settles before `bounded`'s timeout, which waits one more turn of the loop).
    if (client.status !== 'ready') throw this.unreachable(client.status);
    return client;
  }

  /**
   * The error for a call that ran out of time. A call that ran out of time while there was no connection never reached Redis: Redis is
   * down (HistoryError), whichever of `ready`'s wait and this timer ends first. With a
   * connection, Redis did not answer: RedisTimeoutError (and the write's deadline keeps it from
   * taking effect later).
   */
  private timeoutError(what: string): HistoryError | RedisTimeoutError {
    const status = this.connected?.status;
    if (status === 'ready') return new RedisTimeoutError(what, this.timeoutMs, this.address);
    return this.unreachable(status ?? 'not made yet');
  }

  private unreachable(status: string): HistoryError {
    const cause = this.lastError;
    const refusal = authRefusal(cause);
    if (refusal !== undefined) {
      return new HistoryError(`Redis at ${this.address} refused the password (${refusal}): check the password in the URL (redis://:password@host:port)`, cause);
    }
    return new HistoryError(
      `Redis at ${this.address} is not reachable (connection ${status}): check that Redis runs there and the URL (host, port, password, rediss:// for TLS)`,
      cause,
    );
  }

  /** The operation, or `RedisTimeoutError` once `timeoutMs` passed; other failures become `HistoryError`. */
  private bounded<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const metrics = this.metrics;
    const startedAt = metrics?.redisCommandDuration.due() === true ? now() : 0;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        // setImmediate runs after the poll phase: a reply already in the socket is read first.
        setImmediate(() => {
          if (settled) return;
          settled = true;
          if (metrics !== undefined) metrics.redisCommandErrors++;
          reject(this.timeoutError(what));
        });
      }, this.timeoutMs);
      operation().then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (startedAt !== 0) metrics!.redisCommandDuration.observe((now() - startedAt) / 1000);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (metrics !== undefined) metrics.redisCommandErrors++;
          // Refused for its deadline: the same as our own timeout (it took no effect).
          if (isLateRefusal(err)) {
            reject(new RedisTimeoutError(what, this.timeoutMs, this.address));
            return;
          }
          // Already typed and addressed (Redis unreachable while waiting for the connection).
          if (err instanceof HistoryError) {
            reject(err);
            return;
          }
          reject(new HistoryError(`Redis at ${this.address} failed ${what}: ${err instanceof Error ? err.message : String(err)}`, err));
        },
      );
    });
  }
}

function addressOf(target: string | readonly string[] | RedisClientLike): string {
  if (typeof target === 'string') return hostPort(target);
  if (Array.isArray(target)) return (target as readonly string[]).map(hostPort).join(', ');
  // ioredis keeps where it connects in `options` (a Redis) or `startupNodes` (a Cluster).
  const client = target as { options?: { host?: unknown; port?: unknown }; startupNodes?: unknown };
  if (Array.isArray(client.startupNodes)) {
    return client.startupNodes.map((node: { host?: unknown; port?: unknown } | string) =>
      typeof node === 'string' ? hostPort(node) : `${String(node.host ?? '?')}:${String(node.port ?? 6379)}`).join(', ');
  }
  const { host, port } = client.options ?? {};
  return host === undefined ? 'the given client' : `${String(host)}:${String(port ?? 6379)}`;
}

function hostPort(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port === '' ? 6379 : parsed.port}`;
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * The first line of an authentication refusal (NOAUTH, WRONGPASS, ERR invalid password), or
 * undefined for any other error: a wrong password must not read as "Redis is down".
 */
function authRefusal(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : undefined;
  if (message === undefined || !/^(NOAUTH|WRONGPASS|ERR (invalid password|AUTH))/.test(message)) return undefined;
  return message.split('\n')[0]!.replace(/\.$/, '');
}

/**
 * What a connection is for: `commands` (scripts and commands, failing at once while Redis is
 * down) or `subscriber` (pub/sub, queueing its subscriptions until it is connected).
 */
interface ConnectionPurpose {
  role: 'commands' | 'subscriber';
  /** Hears the connection's errors (kept off 'error', where nobody listening would crash the process). */
  onError?: (err: unknown) => void;
}

async function connect(url: string | readonly string[], { role, onError = () => undefined }: ConnectionPurpose): Promise<RedisClientLike> {
  const subscriber = role === 'subscriber';
  // Optional peer dependency: bundlers (Turbopack, webpack) must leave this import to Node,
  // or every app would need ioredis installed just to build.
  const { Redis, Cluster } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ 'ioredis');
  if (typeof url !== 'string') {
    const nodes = url.map(redisNodeOf);
    const { username, password, tls } = nodes[0]!;
    const cluster = new Cluster(nodes.map(({ host, port }) => ({ host, port })), {
      enableOfflineQueue: subscriber,
      enableAutoPipelining: true,
      // One connection per master for SSUBSCRIBE; re-subscribed by ioredis after a failover.
      shardedSubscribers: subscriber,
      // Reconnects to a node that comes back; a failover is followed through MOVED / refresh.
      clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
      redisOptions: { maxRetriesPerRequest: subscriber ? null : 0, autoResendUnfulfilledCommands: subscriber, username, password, tls },
    });
    cluster.on('error', onError);
    return cluster as unknown as RedisClientLike;
  }
  const client = new Redis(url, {
    // Fail a command at once while Redis is down (a typed publish error), instead of
    // queueing it for an unknown time; reconnect in the background.
    // (The subscriber connection queues its SUBSCRIBEs until it is connected.)
    enableOfflineQueue: subscriber,
    // A command caught by a dropped connection fails at once and is never sent again after
    // the reconnect: a publish reported failed must not take effect later (a retry would
    // duplicate it). SUBSCRIBEs are idempotent and re-sent by the engine itself.
    maxRetriesPerRequest: subscriber ? null : 0,
    autoResendUnfulfilledCommands: subscriber,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    // Concurrent publishes share round trips: each tick's commands leave as one write.
    enableAutoPipelining: true,
  });
  // Connection errors are reported through the commands that fail (the last one as their
  // cause); kept off 'error', where nobody listening would crash the process.
  client.on('error', onError);
  return client as unknown as RedisClientLike;
}

/** Connects an ioredis client made with `lazyConnect: true` (its status is 'wait' until then). */
function startLazyClient(client: RedisClientLike): void {
  const connectClient = (client as { connect?: unknown }).connect;
  if (typeof connectClient !== 'function') return;
  // A failed connect is reported by the call that waits for 'ready' (not reachable).
  void Promise.resolve(connectClient.call(client)).catch(() => undefined);
}

/** Why the client of a URL could not be made: ioredis missing, or something else, said as it is. */
function clientFailure(err: unknown, address: string): string {
  const missing = (err as { code?: unknown } | undefined)?.code === 'ERR_MODULE_NOT_FOUND' || (err as { code?: unknown } | undefined)?.code === 'MODULE_NOT_FOUND';
  if (missing && /ioredis/.test(String((err as Error).message))) return 'cannot load ioredis for the Redis store: npm install ioredis';
  return `cannot make a Redis client for ${address}: ${err instanceof Error ? err.message : String(err)}`;
}
