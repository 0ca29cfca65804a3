/**
 * One running Pushpin: readiness (its ports, its own log, who really listens, a warm-up round
 * through the built-in test target), stop and kill by PID, and a last-resort kill when the test
 * process ends.
 */
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { listenerOwner, tcpConnects } from '../ports.js';
import { pidAlive, pidBelongsTo, settlesWithin, sleep, tail, trySignal, waitAllDead } from '../processes.js';
import { HARNESS_HOST, type Resolved } from './config.js';
import { httpProbe } from './httpProbe.js';
import type { PushpinInstance } from './types.js';

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TERM_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 2_000;
const POLL_MS = 25;
/** Service names whose pidfiles the runner writes into rundir. */
const SERVICES = ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler'] as const;

/** Instances started and not yet stopped: what the safety net kills. */
export const live = new Set<PushpinProcess>();
let safetyNetInstalled = false;

/** Kills every live instance when this process exits or is signalled (once per process). */
export function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const inst of live) inst.killSync();
  });
  if (!isMainThread) return; // signals are not delivered to worker threads
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const inst of live) inst.killSync();
      // If nobody else handles this signal, restore the default behaviour (terminate).
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** A failed start; `portInUse` says whether starting again on fresh ports may help. */
export class PushpinStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = 'PushpinStartError';
  }
}

export class PushpinProcess implements PushpinInstance {
  readonly controlUri: string;
  readonly gripUrl: string;
  readonly pid: number;
  private readonly logPath: string;
  private readonly rundir: string;
  private readonly exited: Promise<void>;
  private hasExited = false;
  private exitInfo = '';
  private knownChildren = new Set<number>();
  private ending: Promise<void> | undefined;
  /** Set right after spawn; see spawnGuardian(). */
  guardian: ChildProcess | undefined;
  private finalLog: string | undefined;

  constructor(
    readonly workdir: string,
    readonly httpPort: number,
    readonly publishPort: number,
    private readonly child: ChildProcess,
    private readonly resolved: Resolved,
  ) {
    if (child.pid === undefined) throw new Error('startPushpin: spawn returned no pid');
    this.pid = child.pid;
    this.logPath = path.join(workdir, 'pushpin.log');
    this.rundir = path.join(workdir, 'run');
    this.controlUri = `http://${LOOPBACK}:${publishPort}/`;
    this.gripUrl =
      `${this.controlUri}?iss=${encodeURIComponent(resolved.sigIss)}` +
      `&key=${encodeURIComponent(resolved.sigKey)}`;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        this.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        resolve();
      });
    });
  }

  log(): string {
    if (this.finalLog !== undefined) return this.finalLog;
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  childPids(): number[] {
    return [...this.knownChildren];
  }

  /** PIDs from rundir/*.pid, merged into knownChildren. */
  private readPidfiles(): Map<(typeof SERVICES)[number], number> {
    const found = new Map<(typeof SERVICES)[number], number>();
    for (const name of SERVICES) {
      try {
        const pid = Number.parseInt(fs.readFileSync(path.join(this.rundir, `${name}.pid`), 'utf8').trim(), 10);
        if (Number.isInteger(pid) && pid > 0) {
          found.set(name, pid);
          this.knownChildren.add(pid);
        }
      } catch {
        /* not (yet / any more) there */
      }
    }
    return found;
  }

  /** Children still running for this workdir (PID-reuse safe). */
  private liveChildren(): number[] {
    this.readPidfiles();
    return [...this.knownChildren].filter((p) => pidBelongsTo(p, this.workdir));
  }

  /** Wait for readiness; throws PushpinStartError with the log on failure. */
  async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'not probed yet';
    const wantLog = this.resolved.logLevel >= 2;
    while (Date.now() < deadline) {
      if (this.hasExited) throw this.startError(`pushpin exited early (${this.exitInfo})`);
      const budget = Math.max(50, Math.min(1000, deadline - Date.now()));
      const api = await httpProbe(this.publishPort, '/', budget, {
        readBody: () => true,
        bodyWaitMs: budget,
      });
      if ('error' in api) last = `publish port: ${api.error}`;
      else if (api.status !== 200 || !api.body.includes('Pushpin API'))
        last = `publish port: ${api.status} ${JSON.stringify(api.body.slice(0, 100))}`;
      else if (!(await tcpConnects(this.httpPort, budget))) last = 'http port: connect failed';
      else {
        // The ports could in theory be answered by someone else; our own log must agree
        // (only checkable at log_level >= 2, where these INFO lines are written).
        const log = this.log();
        const pids = this.readPidfiles();
        const pidsOk = pids.size === SERVICES.length;
        const logOk =
          !wantLog ||
          (log.includes(`listening on ${LOOPBACK}:${this.httpPort}`) &&
            log.includes(`http control server: ${LOOPBACK}:${this.publishPort}`) &&
            log.includes('[proxy] started') &&
            log.includes('[zurl] started'));
        // pushpin-handler 1.36 does not fail when its control port is taken: it logs
        // "http control server: ..." and "started" anyway. So check who really listens.
        const httpOwner = listenerOwner(this.httpPort, pids.get('condure'));
        const pubOwner = listenerOwner(this.publishPort, pids.get('pushpin-handler'));
        for (const [which, port, owner] of [
          ['http', this.httpPort, httpOwner],
          ['publish', this.publishPort, pubOwner],
        ] as const) {
          if (owner === 'foreign' && pidsOk) {
            throw this.startError(
              `${which} port ${port} is held by another process (Address already in use; ` +
                `pushpin's own listener is missing)`,
              true,
            );
          }
        }
        const ownOk = httpOwner !== 'none' && pubOwner !== 'none';
        if (pidsOk && logOk && ownOk && !this.hasExited) {
          // ZeroMQ PUB/SUB "slow joiner": for the first ~200 ms responses can be lost or held
          // requests refused (500 Accept service unavailable). Round-trip both response paths.
          last = await this.warmUp(budget);
          if (last === '') return;
        } else {
          last = `ports answer but ${pidsOk ? 'own log lacks the started/listening lines' : 'pidfiles missing'}`;
        }
      }
      await sleep(POLL_MS);
    }
    throw this.startError(`pushpin not ready after ${READY_TIMEOUT_MS} ms (last: ${last})`);
  }

  /** One warm-up round through the built-in test target; '' on success, else what went wrong. */
  private async warmUp(budget: number): Promise<string> {
    const attemptMs = Math.min(300, budget);
    const headers = { host: HARNESS_HOST };
    const hello = await httpProbe(this.httpPort, '/', attemptMs, {
      readBody: () => true,
      bodyWaitMs: attemptMs,
      headers,
      enough: (b) => b.includes('test handler'),
    });
    if ('error' in hello) return `warm-up GET /: ${hello.error}`;
    if (hello.status !== 200) return `warm-up GET /: ${hello.status} ${JSON.stringify(hello.body.slice(0, 100))}`;
    const stream = await httpProbe(this.httpPort, '/stream', attemptMs, {
      readBody: () => true,
      bodyWaitMs: attemptMs,
      headers,
      enough: (b) => b.includes('[stream opened]'),
    });
    if ('error' in stream) return `warm-up GET /stream: ${stream.error}`;
    if (stream.status !== 200 || !stream.body.includes('[stream opened]'))
      return `warm-up GET /stream: ${stream.status} ${JSON.stringify(stream.body.slice(0, 100))}`;
    return '';
  }

  private startError(reason: string, portInUse?: boolean): PushpinStartError {
    const log = this.log();
    return new PushpinStartError(
      `${reason}\nworkdir: ${this.workdir}\n--- pushpin log ---\n${tail(log)}`,
      portInUse ?? /Address already in use|failed to bind/i.test(log),
    );
  }

  async waitForOrigin(urlPath = '/', timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'not probed yet';
    // A lost response (ZeroMQ slow joiner on the zurl path) must not eat the whole budget:
    // start with short attempts, then allow slower origins.
    let attemptMs = 500;
    while (Date.now() < deadline) {
      if (this.hasExited) break;
      const budget = Math.max(50, Math.min(attemptMs, deadline - Date.now()));
      attemptMs = Math.min(attemptMs * 2, 2000);
      const r = await httpProbe(this.httpPort, urlPath, budget, {
        readBody: (s) => s >= 500,
        bodyWaitMs: Math.min(300, budget),
        headers: { accept: 'text/event-stream' },
      });
      if ('error' in r) last = r.error;
      else {
        const proxySide =
          r.status === 502 ||
          r.status === 503 ||
          r.status === 504 ||
          (r.status === 500 && /unavailable/i.test(r.body));
        if (!proxySide) return;
        last = `${r.status} ${JSON.stringify(r.body.slice(0, 200))}`;
      }
      await sleep(50);
    }
    throw new Error(
      `pushpin (http ${this.httpPort}) did not reach the origin for GET ${urlPath} within ${timeoutMs} ms` +
        `${this.hasExited ? ` (pushpin exited: ${this.exitInfo})` : ''}; last answer: ${last}\n` +
        `--- pushpin log ---\n${tail(this.log())}`,
    );
  }

  stop(): Promise<void> {
    this.ending ??= this.end('term');
    return this.ending;
  }

  kill(): Promise<void> {
    this.ending ??= this.end('kill');
    return this.ending;
  }

  private async end(mode: 'term' | 'kill'): Promise<void> {
    // Children must be known before the runner goes: a SIGKILLed runner leaves pidfiles behind,
    // a clean one removes them.
    this.readPidfiles();
    if (mode === 'kill') {
      for (const p of this.liveChildren()) trySignal(p, 'SIGKILL');
      if (!this.hasExited) trySignal(this.pid, 'SIGKILL');
      await settlesWithin(this.exited, KILL_TIMEOUT_MS);
    } else if (!this.hasExited) {
      trySignal(this.pid, 'SIGTERM');
      if (!(await settlesWithin(this.exited, STOP_TERM_TIMEOUT_MS))) {
        trySignal(this.pid, 'SIGKILL');
        await settlesWithin(this.exited, KILL_TIMEOUT_MS);
      }
    }
    // Orphans (runner crashed / was SIGKILLed / did not finish): TERM, then KILL.
    let left = this.liveChildren();
    if (left.length > 0 && mode === 'term') {
      for (const p of left) trySignal(p, 'SIGTERM');
      await waitAllDead(left, KILL_TIMEOUT_MS, this.workdir);
      left = this.liveChildren();
    }
    for (const p of left) trySignal(p, 'SIGKILL');
    // Wait for every known child, not only those still matching by cmdline: a SIGKILLed process
    // loses its cmdline before it has finished exiting and released its ports.
    const allDead =
      (await waitAllDead([this.pid], KILL_TIMEOUT_MS)) &&
      (await waitAllDead([...this.knownChildren], KILL_TIMEOUT_MS, this.workdir));
    live.delete(this);
    this.finalLog = this.log();
    if (allDead) this.dismissGuardian(); // otherwise let it retry when this process ends
    if (!allDead) {
      // Leave the workdir for inspection.
      throw new Error(
        `pushpin ${mode === 'kill' ? 'kill' : 'stop'}: processes still alive after bounded wait: ` +
          `${[this.pid, ...this.knownChildren].filter(pidAlive).join(' ')} (workdir ${this.workdir})`,
      );
    }
    if (process.env.GRIPSTREAM_KEEP_PUSHPIN !== '1') {
      await fsp.rm(this.workdir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private dismissGuardian(): void {
    const g = this.guardian;
    this.guardian = undefined;
    if (g?.pid !== undefined && g.exitCode === null && g.signalCode === null) trySignal(g.pid, 'SIGKILL');
  }

  /** Synchronous last resort for process exit / signals. */
  killSync(): void {
    this.readPidfiles();
    for (const p of this.knownChildren) if (pidBelongsTo(p, this.workdir)) trySignal(p, 'SIGKILL');
    if (!this.hasExited) trySignal(this.pid, 'SIGKILL');
    live.delete(this);
    if (process.env.GRIPSTREAM_KEEP_PUSHPIN !== '1') {
      try {
        fs.rmSync(this.workdir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  }
}
