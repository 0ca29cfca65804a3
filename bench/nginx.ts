/**
 * nginx with the nchan module (Debian: `apt-get install nginx-light libnginx-mod-nchan`),
 * the native C anchor of the comparison: one master, one worker, a private prefix and
 * config in a temp directory, a free loopback port, started and stopped by PID.
 *
 * Subscribers use `GET /events/<channel>` with `Accept: text/event-stream` (nchan's
 * EventSource subscriber, event name `b`); events are published with
 * `POST /pub/<channel>` (nchan's publisher location). Nothing here touches the system's
 * own nginx (its config, its pid file or its service).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hardFdLimit, processPssBytes } from './proc.ts';

const NGINX_BIN = '/usr/sbin/nginx';
const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
/** `/proc/<pid>/stat` times are in clock ticks; Linux uses 100 per second everywhere. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Why nchan cannot run here, or undefined when it can. */
export function nchanUnavailable(): string | undefined {
  if (!existsSync(NGINX_BIN)) return `${NGINX_BIN} not found (apt-get install nginx-light libnginx-mod-nchan)`;
  if (!existsSync(NCHAN_MODULE)) return `${NCHAN_MODULE} not found (apt-get install libnginx-mod-nchan)`;
  return undefined;
}

/** A free loopback port (bound, read, released: nginx binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function config(prefix: string, port: number, maxConnections: number, workers: number): string {
  // Each worker holds its share of the streams (reuseport deals connections evenly by hash),
  // with room for an uneven deal; never more descriptors than the hard limit allows.
  const perWorker = workers === 1 ? maxConnections : Math.ceil((maxConnections * 1.25) / workers);
  const rlimit = Math.min(perWorker + 256, hardFdLimit());
  // Run as root, the master would otherwise hand the worker to `nobody`, who cannot enter
  // the private (0700) prefix.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `load_module ${NCHAN_MODULE};
${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
# The worker may raise its soft descriptor limit up to the hard one, never beyond.
worker_rlimit_nofile ${rlimit};
# Twice the streams: at one connection slot per stream, nchan ran out ("worker_connections are
# not enough, reusing connections") with 160 of 19,300 subscribers still to accept.
events { worker_connections ${2 * perWorker + 128}; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096${workers > 1 ? ' reuseport' : ''};
    location ~ ^/events/(.+)$ {
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_eventsource_event b;
      # Like the Node servers: a new subscriber waits for the next event.
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(.+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 5m;
    }
    location = /status { nchan_stub_status; }
  }
}
`;
}

/** One private nginx + nchan: start, restart on the same port, measure, stop. */
export class NchanServer {
  private master: ChildProcess | undefined;
  /** CPU of nginx processes already stopped (restarts), so `cpuMicros` keeps counting up. */
  private retiredTicks = 0;

  private constructor(
    readonly prefix: string,
    readonly port: number,
    private readonly maxConnections: number,
    readonly workers: number,
  ) {}

  /** `workers` nginx worker processes (worker_processes), one by default. */
  static async start(maxConnections: number, workers = 1): Promise<NchanServer> {
    const prefix = mkdtempSync(path.join(os.tmpdir(), 'bench-nchan-'));
    for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(prefix, dir));
    const server = new NchanServer(prefix, await freePort(), maxConnections, workers);
    writeFileSync(path.join(prefix, 'nginx.conf'), config(prefix, server.port, maxConnections, workers));
    await server.launch();
    return server;
  }

  /** The worker's PID (one worker), or undefined while there is none. */
  workerPid(): number | undefined {
    return this.workerPids()[0];
  }

  /** Every worker's PID. */
  workerPids(): number[] {
    const master = this.master?.pid;
    return master === undefined ? [] : childrenOf(master);
  }

  /** PSS of the master and every worker together, in bytes (shared memory counted once). */
  totalPss(): number {
    const pids = [this.master?.pid, ...this.workerPids()].filter((p): p is number => p !== undefined);
    return pids.reduce((sum, pid) => sum + processPssBytes(pid), 0);
  }

  /** CPU (user + system, µs) of master and worker so far, across restarts. */
  cpuMicros(): number {
    return (this.retiredTicks + this.liveTicks()) * (1e6 / CLOCK_TICKS_PER_SECOND);
  }

  private liveTicks(): number {
    const pids = [this.master?.pid, ...this.workerPids()].filter((p): p is number => p !== undefined);
    return pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  }

  /** Resident memory of the worker, in bytes (where subscribers live). */
  workerRss(): number {
    const pid = this.workerPid();
    if (pid === undefined) return NaN;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? NaN : Number(kib) * 1024;
  }

  /** nchan's own counters (`nchan_stub_status`): subscribers, channels, shared memory. */
  async status(): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/status`)).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const match = /^([a-z ]+): (\d+)/.exec(line);
      if (match) out[match[1]!] = Number(match[2]);
    }
    return out;
  }

  /** A deploy restart: stop (every subscriber's connection closes), start again, same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Fast shutdown (SIGTERM to the master, which stops the worker); SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const master = this.master;
    if (master === undefined || master.exitCode !== null || master.signalCode !== null) return;
    const workers = this.workerPids();
    // Read just before the stop: what the shutdown itself costs is not counted.
    this.retiredTicks += this.liveTicks();
    const exited = new Promise<void>((resolve) => master.once('exit', () => resolve()));
    master.kill('SIGTERM');
    const timer = setTimeout(() => {
      master.kill('SIGKILL');
      for (const worker of workers) killQuietly(worker);
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.master = undefined;
    for (const worker of workers) await waitGone(worker, STOP_GRACE_MS);
  }

  /** Stops nginx, passes on what its error log says went wrong, removes the private directory. */
  async close(): Promise<void> {
    await this.stop();
    for (const line of this.errorLines()) console.error(`[nginx] ${line}`);
    rmSync(this.prefix, { recursive: true, force: true });
  }

  /** Error-log lines at `warn` level or worse (one of each kind: they repeat by the thousand). */
  private errorLines(): string[] {
    let text = '';
    try {
      text = readFileSync(path.join(this.prefix, 'error.log'), 'utf8');
    } catch {
      return [];
    }
    const kinds = new Map<string, string>();
    for (const line of text.split('\n')) {
      const match = /\[(warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?(.*)$/.exec(line);
      if (match) kinds.set(match[2]!.replace(/\d+/g, 'N').slice(0, 80), line);
    }
    return [...kinds.values()].slice(0, 10);
  }

  private async launch(): Promise<void> {
    const master = spawn(NGINX_BIN, ['-p', this.prefix, '-c', path.join(this.prefix, 'nginx.conf')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.master = master;
    const giveUpAt = Date.now() + STARTUP_TIMEOUT_MS;
    // Ready once the worker answers on the port.
    for (;;) {
      if (master.exitCode !== null) throw new Error(`nginx exited at startup: ${this.errorLogTail()}`);
      if (this.workerPids().length >= this.workers && (await answers(this.port))) break;
      if (Date.now() > giveUpAt) {
        await this.stop();
        throw new Error(`nginx did not answer on port ${this.port} within ${STARTUP_TIMEOUT_MS} ms: ${this.errorLogTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private errorLogTail(): string {
    try {
      return readFileSync(path.join(this.prefix, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' / ');
    } catch {
      return '(no error log)';
    }
  }
}

/**
 * Last line of defence, run by the orchestrator after a session: if the nchan server
 * child died without stopping its nginx, stop that nginx (by the PID in its private
 * directory, and its worker) and remove the directory.
 */
export function reapNginx(prefix: string): void {
  if (!prefix.startsWith(path.join(os.tmpdir(), 'bench-nchan-'))) return;
  const pidText = existsSync(path.join(prefix, 'nginx.pid')) ? readFileSync(path.join(prefix, 'nginx.pid'), 'utf8') : '';
  const master = Number(pidText.trim());
  if (Number.isInteger(master) && master > 0 && isNginxOf(master, prefix)) {
    const workers = childrenOf(master);
    killQuietly(master);
    for (const worker of workers) killQuietly(worker);
  }
  rmSync(prefix, { recursive: true, force: true });
}

function isNginxOf(pid: number, prefix: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(prefix);
  } catch {
    return false;
  }
}

/** PIDs whose parent is `parent` (scans /proc; there are few processes here). */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** utime + stime of `pid`, in clock ticks (0 once it is gone). */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat; here, after pid and comm, 11 and 12.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  killQuietly(pid);
}

/** `nginx -v`, for the report. */
export function nginxVersion(): string {
  const probe = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8', timeout: 5_000 });
  return (probe.stderr ?? '').trim().replace(/^nginx version: /, '');
}
