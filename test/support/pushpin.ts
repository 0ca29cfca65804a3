/**
 * Test harness: run a real, fully isolated Pushpin (Debian's `pushpin` 1.36) on loopback.
 *
 * Each instance gets its own temp workdir holding pushpin.conf, routes, rundir (all ZeroMQ
 * endpoints are unix sockets there), logdir and a merged log file. The only TCP listeners are
 * the client-facing HTTP port (condure) and the control/publish HTTP port (pushpin-handler),
 * both bound to 127.0.0.1.
 *
 * Debian specifics handled here (see FACTS.md in the shared notes):
 *  - internal.conf points the proxy at the *system* zurl (/var/run/zurl), which never runs
 *    without systemd, so a private zurl is added to `services` and the proxy pointed at it;
 *  - the runner's children live in their own process groups and survive a SIGKILL of the
 *    runner, so they are tracked through rundir/*.pid and killed explicitly;
 *  - right after start, responses can be lost (ZeroMQ PUB/SUB slow joiner) and held requests
 *    refused with `500 Accept service unavailable.` for ~200 ms. startPushpin() therefore only
 *    returns after a round trip through Pushpin's built-in `test` target (a second route line,
 *    `gs-harness.invalid test`, matched only by that Host header); the zurl->origin path can
 *    still lose the very first response, so call `waitForOrigin()` before real clients.
 *
 * Every wait is bounded; nothing listens on anything but 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';

export interface PushpinOptions {
  /** Single origin: the route is `* 127.0.0.1:<originPort>`. Ignored when `origins` is non-empty. */
  originPort: number;
  /**
   * Several origin ports. Pushpin's routes syntax takes several targets on one line separated by
   * whitespace (`* 127.0.0.1:7000 127.0.0.1:7001`); a comma would start target *options* instead.
   */
  origins?: number[];
  /** [proxy] sig_key, default 'changeme'. */
  sigKey?: string;
  /** [proxy] sig_iss, default 'pushpin'. */
  sigIss?: string;
  /** [handler] message_wait in ms, default 5000. */
  messageWait?: number;
  /**
   * [handler] message_rate (messages per second sent to clients, default 2500) and message_hwm
   * (rate-limited messages queued before dropping, default 25000): Debian's throttle, which the
   * benchmark lifts.
   */
  messageRate?: number;
  messageHwm?: number;
  /** Runner log_level, default 2 (3 = debug). */
  logLevel?: number;
  /** Client-facing port; pass the old one to restart on the same ports. Default: a free port. */
  httpPort?: number;
  /** Control/publish port; default: a free port. */
  publishPort?: number;
}

export interface PushpinInstance {
  /** Client-facing port (condure). */
  httpPort: number;
  /** Control/publish HTTP API port (pushpin-handler). */
  publishPort: number;
  /** `http://127.0.0.1:<publishPort>/` */
  controlUri: string;
  /** `http://127.0.0.1:<publishPort>/?iss=<sigIss>&key=<sigKey>` (values URI-encoded), for parseGripUri / new Publisher(). */
  gripUrl: string;
  workdir: string;
  /** PID of the `pushpin` runner. */
  pid: number;
  /** Merged log so far (kept in memory after stop(), when the workdir is removed). */
  log(): string;
  /** PIDs of condure / zurl / pushpin-proxy / pushpin-handler as recorded at start (extra, for fault tests). */
  childPids(): number[];
  /**
   * Retries `GET <path>` through httpPort until the answer is not a proxy-side failure
   * (502/503/504, or 500 with an "... unavailable" body), i.e. Pushpin reaches the origin
   * and its handler accepts held requests. Bounded by timeoutMs (default 5000).
   */
  waitForOrigin(path?: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM the runner, await its exit (bounded), then kill any children left from rundir/*.pid. Idempotent. */
  stop(): Promise<void>;
  /** Abrupt: SIGKILL the runner and all its children (bounded). Idempotent. */
  kill(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TERM_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 2_000;
const POLL_MS = 25;
/** Service names whose pidfiles the runner writes into rundir. */
const SERVICES = ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler'] as const;
/** Longest ipc socket basename used by internal.conf / zurl (e.g. `m2zhttp-out-stream`), plus slack. */
const LONGEST_IPC_NAME = 24;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const SUN_PATH_MAX = 107;

// ---------------------------------------------------------------------------------------------
// small bounded helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true if `p` settles within `ms`, false otherwise. Never rejects. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tail(text: string, maxChars = 6000): string {
  return text.length <= maxChars ? text : `…(${text.length - maxChars} chars cut)…\n${text.slice(-maxChars)}`;
}

/** Alive and not a zombie. Zombies hold no ports and only wait for their parent to reap them. */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> ..." — comm may contain spaces/parens, so split after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // No procfs (not Linux): fall back to signal 0.
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** True when the live process `pid` was started for this workdir (guards against PID reuse). */
function pidBelongsTo(pid: number, workdir: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workdir);
  } catch {
    return false;
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Alive and possibly ours: cmdline mentions the workdir, or is empty because the process is
 * still tearing down after a signal (its memory, hence its cmdline, is gone before it turns
 * into a zombie, and it may still hold its listening sockets at that point).
 */
function pidMaybeOurs(pid: number, workdir: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes(workdir);
  } catch {
    return pidAlive(pid);
  }
}

async function waitAllDead(pids: number[], ms: number, workdir?: string): Promise<boolean> {
  const deadline = Date.now() + ms;
  const alive = (p: number): boolean => (workdir === undefined ? pidAlive(p) : pidMaybeOurs(p, workdir));
  for (;;) {
    if (!pids.some(alive)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// public helpers

/** `pushpin` binary on PATH (executable file). */
export function pushpinAvailable(): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'pushpin');
    try {
      if (!fs.statSync(candidate).isFile()) continue;
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * For `describe.runIf(requirePushpin())`: true when pushpin is installed. Otherwise throws when
 * CI=true (so CI fails loudly) or warns loudly and returns false.
 */
export function requirePushpin(): boolean {
  if (pushpinAvailable()) return true;
  const msg = 'pushpin not installed: apt-get install -y pushpin';
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but ${msg} (the Pushpin integration tests must run in CI)`);
  }
  console.warn(`\n!!!!! SKIPPING Pushpin integration tests: ${msg} !!!!!\n`);
  return false;
}

/** Ask the OS for an ephemeral loopback port (free at the time of the call). */
/**
 * Two distinct free ports, e.g. Pushpin's http and publish ports chosen before it starts.
 * Two plain freePort() calls can return the same port: each one's listener is already closed.
 */
export async function freePortPair(): Promise<[number, number]> {
  const first = await freePort();
  for (let i = 0; i < 5; i++) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
  throw new Error('freePortPair: could not get two distinct free ports');
}

export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    const timer = setTimeout(() => {
      srv.close();
      reject(new Error('freePort: timed out'));
    }, 2000);
    srv.unref();
    srv.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    srv.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => {
        clearTimeout(timer);
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('freePort: no address'));
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// probes

/** GET http://127.0.0.1:port/path; resolves status + (up to bodyWaitMs of) body, never rejects. */
function httpProbe(
  port: number,
  urlPath: string,
  timeoutMs: number,
  opts: {
    readBody: (status: number) => boolean;
    bodyWaitMs: number;
    headers?: http.OutgoingHttpHeaders;
    /** Finish as soon as the body so far satisfies this. */
    enough?: (body: string) => boolean;
  },
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { status: number; body: string } | { error: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const req = http.get(
      { host: LOOPBACK, port, path: urlPath, agent: false, headers: opts.headers },
      (res) => {
        const status = res.statusCode ?? 0;
        if (!opts.readBody(status)) {
          finish({ status, body: '' });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
          if (opts.enough?.(body)) finish({ status, body });
        });
        res.on('end', () => finish({ status, body }));
        res.on('error', () => finish({ status, body }));
        // A held stream never ends: take what arrived so far.
        setTimeout(() => finish({ status, body }), opts.bodyWaitMs).unref();
      },
    );
    req.on('error', (err) => finish({ error: err.message }));
    const timer = setTimeout(() => finish({ error: `timeout after ${timeoutMs} ms` }), timeoutMs);
  });
}

function tcpConnects(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

/**
 * Who listens on TCP `port` (Linux procfs): 'ours' if one of the LISTEN sockets is an open fd
 * of `pid`, 'foreign' if someone else listens, 'none' if nobody, 'unknown' without procfs.
 */
function listenerOwner(port: number, pid: number | undefined): 'ours' | 'foreign' | 'none' | 'unknown' {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  let sawTable = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    sawTable = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const local = f[1];
      const inode = f[9];
      if (f[3] === '0A' && local !== undefined && inode !== undefined && local.endsWith(`:${portHex}`)) {
        inodes.add(inode);
      }
    }
  }
  if (!sawTable) return 'unknown';
  if (inodes.size === 0) return 'none';
  if (pid === undefined) return 'foreign';
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 'foreign';
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined && inodes.has(m[1])) return 'ours';
    } catch {
      /* fd closed meanwhile */
    }
  }
  return 'foreign';
}

// ---------------------------------------------------------------------------------------------
// config

interface Resolved {
  targets: number[];
  sigKey: string;
  sigIss: string;
  messageWait: number;
  messageRate: number;
  messageHwm: number;
  logLevel: number;
  httpPort: number;
  publishPort: number;
}

function configText(workdir: string, r: Resolved): string {
  const rundir = path.join(workdir, 'run');
  const logdir = path.join(workdir, 'log');
  // Values go into a Qt INI file: refuse anything that could break a line.
  for (const [k, v] of [['sigKey', r.sigKey], ['sigIss', r.sigIss]] as const) {
    if (/[\r\n]/.test(v)) throw new Error(`startPushpin: ${k} must not contain newlines`);
  }
  return `# generated by test/support/pushpin.ts
[global]
include={libdir}/internal.conf
rundir=${rundir}
ipc_prefix=gs${r.httpPort}-
port_offset=0
stats_connection_ttl=120

[runner]
# Debian's default leaves zurl out (it expects the system zurl under /var/run/zurl): run a private one.
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=${LOOPBACK}:${r.httpPort}
logdir=${logdir}
log_level=${r.logLevel}
client_buffer_size=8192
client_maxconn=1000
condure_bin=condure
zurl_bin=zurl

[proxy]
routesfile=routes
debug=true
auto_cross_origin=false
accept_x_forwarded_protocol=false
set_x_forwarded_protocol=proto-only
x_forwarded_for=
x_forwarded_for_trusted=
orig_headers_need_mark=
accept_pushpin_route=false
log_from=false
log_user_agent=false
sig_iss=${r.sigIss}
sig_key=${r.sigKey}
upstream_key=
updates_check=off
organization_name=
# private zurl in rundir (keys here override internal.conf's /var/run/zurl/* specs)
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out

[handler]
# every ZeroMQ endpoint is a unix socket in rundir: the only TCP ports are http_port and push_in_http_port
push_in_spec=ipc://{rundir}/{ipc_prefix}push-in
push_in_sub_specs=ipc://{rundir}/{ipc_prefix}push-in-sub
push_in_sub_connect=false
push_in_http_addr=${LOOPBACK}
push_in_http_port=${r.publishPort}
push_in_http_max_headers_size=10000
push_in_http_max_body_size=1000000
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=ipc://{rundir}/{ipc_prefix}command
message_rate=${r.messageRate}
message_hwm=${r.messageHwm}
message_wait=${r.messageWait}
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
`;
}

/**
 * Host name routed to Pushpin's built-in `test` target (answers `GET /` itself and holds
 * `GET /stream` on channel `test` through the handler). Used only by the readiness check, so that
 * "ready" means responses really flow proxy->condure and handler->condure; only requests whose
 * Host header is exactly this name match it, everything else goes to the origin route.
 */
const HARNESS_HOST = 'gs-harness.invalid';

function routesText(targets: number[]): string {
  // Several targets on one route are separated by whitespace; `,opt` after a target is an option.
  return `${HARNESS_HOST} test\n* ${targets.map((p) => `${LOOPBACK}:${p}`).join(' ')}\n`;
}

// ---------------------------------------------------------------------------------------------
// guardian: a tiny detached `sh` holding the read end of a pipe from this process. When this
// process goes away in any way (exit, signal, SIGKILL, or a vitest worker *thread* being
// terminated, where process 'exit' handlers never run) the pipe reaches EOF and the guardian
// SIGKILLs the runner and the children listed in rundir/*.pid, checking that each PID's command
// line mentions the workdir (PID-reuse safe). stop()/kill() SIGKILL the guardian once
// everything is down, so it never acts after a normal stop.

const GUARDIAN_SCRIPT = `
cat >/dev/null 2>&1
W="$1"; R="$2"
own() { [ -r "/proc/$1/cmdline" ] && tr '\\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$W"; }
for f in "$W"/run/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f" 2>/dev/null)
  case "$p" in ''|*[!0-9]*) continue ;; esac
  own "$p" && kill -KILL "$p" 2>/dev/null
done
own "$R" && kill -KILL "$R" 2>/dev/null
[ "$3" = keep ] || rm -rf "$W"
`;

function spawnGuardian(workdir: string, runnerPid: number): ChildProcess | undefined {
  try {
    const keep = process.env.GRIPSTREAM_KEEP_PUSHPIN === '1' ? 'keep' : 'rm';
    const g = spawn('/bin/sh', ['-c', GUARDIAN_SCRIPT, 'pushpin-guardian', workdir, String(runnerPid), keep], {
      detached: true, // Ctrl-C in the test runner must not take the guardian down first
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    g.on('error', () => undefined);
    g.stdin?.on('error', () => undefined);
    g.unref();
    // Keep the write end open but do not let it hold the event loop.
    (g.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return g;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// instance

const live = new Set<PushpinProcess>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
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

class PushpinStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = 'PushpinStartError';
  }
}

class PushpinProcess implements PushpinInstance {
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

async function pickPorts(opts: PushpinOptions): Promise<{ httpPort: number; publishPort: number }> {
  const httpPort = opts.httpPort ?? (await freePort());
  let publishPort = opts.publishPort ?? (await freePort());
  for (let i = 0; publishPort === httpPort && i < 5; i++) {
    if (opts.publishPort !== undefined) throw new Error('startPushpin: httpPort and publishPort must differ');
    publishPort = await freePort();
  }
  if (publishPort === httpPort) throw new Error('startPushpin: could not get two distinct free ports');
  return { httpPort, publishPort };
}

async function startOnce(opts: PushpinOptions): Promise<PushpinInstance> {
  const { httpPort, publishPort } = await pickPorts(opts);
  const targets = opts.origins && opts.origins.length > 0 ? opts.origins : [opts.originPort];
  for (const p of [...targets, httpPort, publishPort]) {
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new Error(`startPushpin: bad port ${p}`);
  }
  const resolved: Resolved = {
    targets,
    sigKey: opts.sigKey ?? 'changeme',
    sigIss: opts.sigIss ?? 'pushpin',
    messageWait: opts.messageWait ?? 5000,
    messageRate: opts.messageRate ?? 2500,
    messageHwm: opts.messageHwm ?? 25000,
    logLevel: opts.logLevel ?? 2,
    httpPort,
    publishPort,
  };

  const workdir = await fsp.mkdtemp(path.join(os.tmpdir(), 'gs-pushpin-'));
  const rundir = path.join(workdir, 'run');
  if (Buffer.byteLength(`${rundir}/gs${httpPort}-`) + LONGEST_IPC_NAME > SUN_PATH_MAX) {
    await fsp.rm(workdir, { recursive: true, force: true });
    throw new Error(`startPushpin: tmpdir path too long for unix sockets (${rundir}); set TMPDIR=/tmp`);
  }
  await fsp.mkdir(rundir);
  await fsp.mkdir(path.join(workdir, 'log'));
  const confPath = path.join(workdir, 'pushpin.conf');
  await fsp.writeFile(confPath, configText(workdir, resolved));
  await fsp.writeFile(path.join(workdir, 'routes'), routesText(targets));

  const logFd = fs.openSync(path.join(workdir, 'pushpin.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn('pushpin', ['--config', confPath, '--merge-output'], {
      cwd: workdir,
      detached: true, // own session/process group: the test runner's Ctrl-C does not reach it
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    fs.closeSync(logFd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const err = await Promise.race([spawnError, sleep(1000).then(() => new Error('no pid'))]);
    await fsp.rm(workdir, { recursive: true, force: true });
    throw new Error(`startPushpin: could not spawn pushpin: ${err.message}`);
  }
  child.unref(); // never keep the test process alive by itself; the safety net still kills it

  installSafetyNet();
  const inst = new PushpinProcess(workdir, httpPort, publishPort, child, resolved);
  inst.guardian = spawnGuardian(workdir, inst.pid);
  live.add(inst);
  try {
    await inst.waitReady();
  } catch (err) {
    await inst.kill().catch(() => undefined);
    throw err;
  }
  return inst;
}

/** Start an isolated Pushpin on loopback and wait until it is ready (bounded, 10 s). */
export async function startPushpin(opts: PushpinOptions): Promise<PushpinInstance> {
  if (!pushpinAvailable()) throw new Error('startPushpin: pushpin not installed: apt-get install -y pushpin');
  // With OS-chosen ports another process may grab a port between freePort() and the bind:
  // retry with fresh ports in that case only.
  const attempts = opts.httpPort === undefined && opts.publishPort === undefined ? 3 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PushpinStartError && err.portInUse)) throw err;
    }
  }
  throw lastErr;
}
