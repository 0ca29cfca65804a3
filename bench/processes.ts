/**
 * Starting, talking to, and reliably stopping the benchmark's child processes.
 *
 * Children are TypeScript run through tsx's loader, started with `--expose-gc` (the
 * memory scenario collects garbage before sampling) and, when `taskset` works, pinned to
 * one CPU each so the server and the load client never compete for a core.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Grace period between asking a child to exit and killing it. */
const EXIT_GRACE_MS = 3_000;

/** Whether `taskset` exists and may pin processes here (containers can forbid it). */
export function cpuPinningAvailable(): boolean {
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore', timeout: 5_000 });
  return probe.status === 0;
}

export interface ChildOptions {
  /** Path relative to the repository root, e.g. `bench/client.ts`. */
  script: string;
  args?: string[];
  /** CPU to pin to, or undefined to let the scheduler decide. */
  cpu?: number;
  /** Prefix for the child's stderr lines in the orchestrator's output. */
  label: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Start the child with this `ulimit -n` (soft and hard), through `prlimit`. */
  fdLimit?: number;
}

type Message = { type: string; id?: number };

/** A request as the caller writes it: the id is assigned here. Distributes over unions. */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A child process with request/reply messaging over IPC. */
export class Child<Req extends { id: number }, Reply extends Message> {
  private nextId = 1;
  private readonly waiters = new Map<number, (reply: Reply) => void>();
  private readonly exitWaiters = new Set<(reason: string) => void>();
  private exitReason: string | undefined;
  private readyReply: Reply | undefined;
  private readyWaiter: ((reply: Reply) => void) | undefined;

  private constructor(private readonly proc: ChildProcess, private readonly label: string) {
    proc.on('message', (raw) => this.onMessage(raw as Reply));
    proc.on('exit', (code, signal) => this.onExit(`exited (code ${code}, signal ${signal})`));
    proc.on('error', (err) => this.onExit(`failed to start: ${err.message}`));
    proc.stderr?.on('data', (chunk: Buffer) => process.stderr.write(prefixLines(label, chunk.toString())));
    proc.stdout?.on('data', (chunk: Buffer) => process.stderr.write(prefixLines(label, chunk.toString())));
  }

  static start<Req extends { id: number }, Reply extends Message>(options: ChildOptions): Child<Req, Reply> {
    const nodeArgs = ['--expose-gc', ...profilingArgs(), '--import', 'tsx', options.script, ...(options.args ?? [])];
    const pinned = options.cpu === undefined ? [] : ['taskset', '-c', String(options.cpu)];
    const limited = options.fdLimit === undefined ? [] : ['prlimit', `--nofile=${options.fdLimit}:${options.fdLimit}`, '--'];
    const [command, ...args] = [...limited, ...pinned, process.execPath, ...nodeArgs] as [string, ...string[]];
    // The `debug` package (used by the reference) must not log: it would cost per event.
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    delete env['DEBUG'];
    const proc = spawn(command, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new Child<Req, Reply>(proc, options.label);
  }

  /** Waits for the child's first message of `type` (its startup announcement). */
  ready(timeoutMs: number): Promise<Reply> {
    if (this.readyReply !== undefined) return Promise.resolve(this.readyReply);
    return this.withTimeout(
      new Promise<Reply>((resolve) => (this.readyWaiter = resolve)),
      timeoutMs,
      'startup',
    );
  }

  /** Sends a request and waits for the reply with the same id, or fails after `timeoutMs`. */
  request<R extends Reply>(message: WithoutId<Req>, timeoutMs: number): Promise<R> {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve) => this.waiters.set(id, resolve));
    this.proc.send({ ...message, id });
    return this.withTimeout(reply, timeoutMs, `'${(message as unknown as Message).type}'`).finally(() =>
      this.waiters.delete(id),
    ) as Promise<R>;
  }

  /** Asks the child to exit (closing IPC is its signal), then kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.exitReason !== undefined) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.add(() => resolve()));
    if (this.proc.connected) this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), EXIT_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the child at once; pending requests fail with its exit reason. */
  kill(): void {
    if (this.exitReason === undefined) this.proc.kill('SIGKILL');
  }

  private onMessage(reply: Reply): void {
    if (reply.id === undefined) {
      this.readyReply = reply;
      this.readyWaiter?.(reply);
      return;
    }
    this.waiters.get(reply.id)?.(reply);
  }

  private onExit(reason: string): void {
    this.exitReason ??= reason;
    for (const waiter of this.exitWaiters) waiter(reason);
    this.exitWaiters.clear();
  }

  /** Races `promise` against a timeout and against the child dying, whichever is first. */
  private withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onDeath: ((reason: string) => void) | undefined;
    const failure = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: no reply to ${what} within ${timeoutMs} ms`)), timeoutMs);
      onDeath = (reason) => reject(new Error(`${this.label} ${reason} while waiting for ${what}`));
      if (this.exitReason !== undefined) onDeath(this.exitReason);
      else this.exitWaiters.add(onDeath);
    });
    return Promise.race([promise, failure]).finally(() => {
      clearTimeout(timer);
      if (onDeath !== undefined) this.exitWaiters.delete(onDeath);
    });
  }
}

/**
 * The highest `ulimit -n` up to `wanted` that a child can be given here: the hard limit,
 * or more where this process may raise it (root with CAP_SYS_RESOURCE).
 */
export function reachableFdLimit(wanted: number): number {
  const probe = (n: number): boolean =>
    spawnSync('prlimit', [`--nofile=${n}:${n}`, '--', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  if (probe(wanted)) return wanted;
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8', timeout: 5_000 }).stdout?.trim();
  const limit = hard === 'unlimited' ? wanted : Number(hard);
  return Number.isFinite(limit) && limit > 0 ? Math.min(wanted, limit) : 1024;
}

/** BENCH_CPU_PROF_DIR=<dir> makes every child write a V8 CPU profile there (for digging). */
function profilingArgs(): string[] {
  const dir = process.env['BENCH_CPU_PROF_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

function prefixLines(label: string, text: string): string {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => `  [${label}] ${line}\n`)
    .join('');
}
