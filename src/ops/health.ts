import { DEFAULT_READY_TIMEOUT, MAX_TIMER_DELAY } from '../config/defaults.js';
import { describeValue } from '../describeValue.js';
import { InvalidConfigError, UnreachableError } from '../errors.js';
import { reasonOf, type Incidents } from '../telemetry/incidents.js';
import type { DependencyCheck } from '../telemetry/DependencyCheck.js';
import type { DependencyKind, LinkState, Metrics } from '../telemetry/Metrics.js';

/** `up`: answered at the last check; `down`: did not; `unknown`: not checked yet. */
export type DependencyState = 'up' | 'down' | 'unknown';

/** One thing this instance needs to serve streams, as the last check saw it. */
export interface DependencyHealth {
  /** `redis`: the engine's or history's Redis; `grip`: one GRIP proxy. */
  kind: 'redis' | 'grip';
  /** Where it is (credentials removed). */
  address: string;
  /** Whether it answered at the last check. */
  state: DependencyState;
  /** ISO time of the last change of `state`. */
  since: string;
  /** Why the last check failed, while `down`. */
  error?: string;
}

/** What `eventStream.health()` answers and the probe handlers send as JSON. */
export interface HealthReport {
  /** The process answers: always true while the EventStream is open (see docs/operations.md). */
  live: boolean;
  /** Every dependency answered its last check, and the instance is neither draining nor closed. */
  ready: boolean;
  /** `drain()` began: new streams are refused with 503. */
  draining: boolean;
  /** `close()` was called. */
  closed: boolean;
  /** Each dependency as its checks saw it (empty without Redis and GRIP). */
  dependencies: DependencyHealth[];
}

/** Milliseconds between two checks of every dependency (each check bounded by its own timeout). */
export const HEALTH_CHECK_INTERVAL = 1000;
/**
 * Failed checks in a row before a dependency counts as down: one slow answer (a connection
 * still being made at start-up, a GC pause) is not an outage, and does not flap readiness.
 */
export const FAILURES_FOR_DOWN = 2;

/** `ready({ timeout })`'s argument, defaulted: a wait a timer can keep (past 2^31 - 1 ms Node fires at once). */
export function readyTimeoutOf(timeout: unknown = DEFAULT_READY_TIMEOUT): number {
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMER_DELAY) {
    throw new InvalidConfigError(`ready({ timeout }) must be a positive number of ms up to ${MAX_TIMER_DELAY}, got ${describeValue(timeout)}`);
  }
  return timeout;
}

interface Tracked {
  readonly dependency: DependencyCheck;
  state: DependencyState;
  since: number;
  lastError: unknown;
  /** Failed checks since the last answer. */
  failures: number;
}

/**
 * Checks every dependency once a second, in the background (timers unref'd), and keeps what
 * it saw: probes answer from it without I/O, so a probe storm never reaches Redis, and a
 * Redis state change is reported as one incident line whether or not anything probes. GRIP
 * proxies are checked from the first question about health on (see `onDemand`).
 */
export class HealthMonitor {
  private readonly tracked: Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  /** True once health was asked for: on-demand dependencies are checked from then on. */
  private asked = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    dependencies: readonly DependencyCheck[],
    private readonly incidents: Incidents,
    /** Counts outages; its `redis_up` / `grip_up` gauges read `stateOf`, the same state the probes answer from. */
    private readonly metrics?: Metrics,
  ) {
    const now = Date.now();
    this.tracked = dependencies.map((dependency) => ({ dependency, state: 'unknown', since: now, lastError: undefined, failures: 0 }));
    if (this.tracked.some((entry) => !entry.dependency.onDemand)) this.scheduleNext(0);
  }

  /** True when every dependency answered its last check. */
  get allUp(): boolean {
    this.ask();
    return this.tracked.every((entry) => entry.state === 'up');
  }

  /**
   * The dependencies of one kind as last seen: 'up' when every one answered, 'down' when one
   * did not (or none was checked yet), undefined when none is configured. Reading an
   * on-demand dependency's state (GRIP) is asking about health: its checks start then, as
   * they do for a probe. Redis is checked from the start anyway.
   */
  stateOf(kind: DependencyKind): LinkState | undefined {
    let state: LinkState | undefined;
    for (const entry of this.tracked) {
      if (entry.dependency.kind !== kind) continue;
      if (entry.dependency.onDemand) this.ask();
      if (entry.state !== 'up') return 'down';
      state = 'up';
    }
    return state;
  }

  snapshot(): DependencyHealth[] {
    this.ask();
    return this.tracked.map(({ dependency, state, since, lastError }) => ({
      kind: dependency.kind,
      address: dependency.address,
      state,
      since: new Date(since).toISOString(),
      ...(state === 'down' && lastError !== undefined ? { error: reasonOf(lastError) } : {}),
    }));
  }

  /**
   * Resolves once every dependency answered; rejects with `UnreachableError` naming the first
   * one that did not answer within `timeoutMs`.
   */
  async whenUp(timeoutMs: number): Promise<void> {
    if (this.allUp) return;
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(onRound);
      };
      const onRound = (): void => {
        if (!this.allUp) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        const missing = this.tracked.find((entry) => entry.state !== 'up');
        if (missing === undefined) return resolve();
        // Waited for in vain by the app: down now, not after another failed check.
        if (missing.state !== 'down') this.record(missing, 'down', missing.lastError ?? new Error(`no answer within ${timeoutMs} ms`), true);
        reject(new UnreachableError(missing.dependency.kind, missing.dependency.address, Date.now() - started, missing.lastError));
      }, timeoutMs);
      this.listeners.add(onRound);
      // Ask now rather than at the next tick of the interval: a startup check is waiting.
      void this.checkNow();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.listeners.clear();
  }

  /** The first question about health starts the on-demand checks, with a round now. */
  private ask(): void {
    if (this.asked || this.stopped) return;
    this.asked = true;
    if (this.tracked.some((entry) => entry.dependency.onDemand)) void this.checkNow();
  }

  private scheduleNext(delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.checkNow(), delay);
    this.timer.unref();
  }

  /** One round over every dependency; a round already running is joined, not doubled. */
  private checkNow(): Promise<void> {
    this.round ??= this.checkAll().finally(() => {
      this.round = undefined;
      for (const listener of [...this.listeners]) listener();
      this.scheduleNext(HEALTH_CHECK_INTERVAL);
    });
    return this.round;
  }

  private async checkAll(): Promise<void> {
    await Promise.all(
      this.tracked.filter((entry) => this.asked || !entry.dependency.onDemand).map((entry) =>
        entry.dependency.check().then(
          () => this.record(entry, 'up', undefined),
          (err: unknown) => this.record(entry, 'down', err),
        ),
      ),
    );
  }

  private record(entry: Tracked, state: 'up' | 'down', error: unknown, certain = false): void {
    if (this.stopped) return;
    entry.lastError = error;
    entry.failures = state === 'down' ? entry.failures + 1 : 0;
    if (state === 'down' && entry.failures < FAILURES_FOR_DOWN && !certain) return;
    const before = entry.state;
    if (before === state) return;
    const now = Date.now();
    const downFor = now - entry.since;
    entry.state = state;
    entry.since = now;
    const { kind, address } = entry.dependency;
    const name = kind === 'redis' ? 'Redis' : 'GRIP proxy';
    if (state === 'down') {
      // The up gauge follows by itself (it reads this state at collection); the outage is counted.
      if (this.metrics !== undefined) this.metrics.outages[kind]++;
      const effect =
        kind === 'redis'
          ? 'publishes fail and resumes cannot be served until it is back; readiness reports not ready'
          : 'publishes to its clients fail until it is back; readiness reports not ready';
      this.incidents.change(`${kind}-down`, 'error', `gripstream: ${name} at ${address} is unreachable (${reasonOf(error)}); ${effect}`, { address, error });
    } else if (before === 'down') {
      this.incidents.change(`${kind}-up`, 'info', `gripstream: ${name} at ${address} answers again (after ${(downFor / 1000).toFixed(1)} s); ready`, { address });
    }
  }
}
