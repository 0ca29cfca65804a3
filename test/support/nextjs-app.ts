/**
 * Test harness for examples/nextjs: builds the library and the app, runs `next start` on a free
 * loopback port, and opens SSE clients with the `eventsource` package.
 *
 * Every child runs in its own process group (detached) so that a timeout or afterAll can kill
 * npm/next and everything they started with one signal. Every wait is bounded.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource, type FetchLike } from 'eventsource';
import { freePort } from './ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const APP_DIR = path.join(REPO_ROOT, 'examples', 'nextjs');
const NEXT_BIN = path.join(APP_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');
const LOOPBACK = '127.0.0.1';

/** Environment of every child: no telemetry banner or network call, production mode. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...extra };
  // vitest sets NODE_ENV=test; Next warns about a non-standard NODE_ENV and `next build` needs production.
  delete env.NODE_ENV;
  return env;
}

function tail(text: string, maxChars = 4000): string {
  return text.length <= maxChars ? text : `…${text.slice(-maxChars)}`;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export interface RunResult {
  ms: number;
  output: string;
}

/** Runs a command to completion in its own process group; rejects (with its output) on failure or timeout. */
export function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`\`${command} ${args.join(' ')}\` timed out after ${timeoutMs}ms in ${cwd}\n${tail(output)}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`\`${command} ${args.join(' ')}\` could not start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ms: Date.now() - started, output });
      else reject(new Error(`\`${command} ${args.join(' ')}\` exited with ${code ?? signal} in ${cwd}\n${tail(output)}`));
    });
  });
}

export interface NextServer {
  baseUrl: string;
  port: number;
  /** Milliseconds from spawn to the first successful GET. */
  startMs: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * `next start` on a free port (or `options.port`), with `options.env` added to its environment,
 * resolved once `GET readyPath` answers 200. Rejects (and kills the server) if it exits or is
 * not ready within `timeoutMs`.
 */
export async function startNext(
  readyPath: string,
  timeoutMs: number,
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<NextServer> {
  const port = options.port ?? (await freePort());
  const baseUrl = `http://${LOOPBACK}:${port}`;
  const started = Date.now();
  const child = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', LOOPBACK], {
    cwd: APP_DIR,
    env: childEnv(options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = String(code ?? signal);
      resolve();
    });
    child.once('error', (err) => {
      exited = err.message;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    killGroup(child.pid, 'SIGTERM');
    const gone = await Promise.race([exit.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) {
      killGroup(child.pid, 'SIGKILL');
      await Promise.race([exit, sleep(2000)]);
    }
    // Children next may have left in the group (none expected).
    killGroup(child.pid, 'SIGKILL');
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`next start exited (${exited}) before it was ready\n${tail(output)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`next start was not ready within ${timeoutMs}ms\n${tail(output)}`);
    }
    try {
      const res = await fetch(baseUrl + readyPath, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return { baseUrl, port, startMs: Date.now() - started, log: () => output, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when examples/nextjs/node_modules holds Next (and so was installed). */
export function appDepsInstalled(): boolean {
  return fs.existsSync(NEXT_BIN) && fs.existsSync(path.join(APP_DIR, 'node_modules', 'gripstream'));
}

export interface Received {
  type: string;
  data: string;
  /** performance.now() at arrival. */
  at: number;
}

export interface SseClient {
  readonly url: string;
  readonly received: Received[];
  /** Responses to this client's requests (one per (re)connection), headers as sent by the server. */
  readonly responses: Response[];
  /** Resolves at the first `stream-open` event. */
  readonly opened: Promise<void>;
  /** Resolves with the first received event (of `type`) matching `match`. */
  waitFor(type: string, match: (data: string) => boolean, ms: number): Promise<Received>;
  close(): void;
}

/**
 * An EventSource listening for `types` (plus `stream-open`). Its fetch asks for gzip on every
 * request, so Next's compression would kick in for any response it thinks it may compress.
 */
export function openClient(url: string, types: readonly string[], openTimeoutMs = 10_000): SseClient {
  const received: Received[] = [];
  const responses: Response[] = [];
  const waiters = new Set<() => void>();
  const gzipFetch: FetchLike = async (input, init) => {
    const res = await fetch(input, { ...init, headers: { ...init.headers, 'Accept-Encoding': 'gzip' } });
    responses.push(res);
    return res;
  };
  const es = new EventSource(url, { fetch: gzipFetch });
  for (const type of new Set(['stream-open', ...types])) {
    es.addEventListener(type, (event: MessageEvent<string>) => {
      received.push({ type, data: event.data, at: performance.now() });
      for (const waiter of [...waiters]) waiter();
    });
  }
  let lastError = '';
  es.addEventListener('error', (event) => {
    lastError = String((event as { message?: string }).message ?? 'error');
  });

  const waitFor = (type: string, match: (data: string) => boolean, ms: number): Promise<Received> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = received.find((r) => r.type === type && match(r.data));
        if (found === undefined) return false;
        clearTimeout(timer);
        waiters.delete(checker);
        resolve(found);
        return true;
      };
      const checker = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(checker);
        reject(
          new Error(
            `timed out after ${ms}ms waiting for a "${type}" event on ${url}` +
              ` (readyState ${es.readyState}${lastError ? `, last error: ${lastError}` : ''};` +
              ` received: ${JSON.stringify(received.map((r) => `${r.type}:${r.data}`))})`,
          ),
        );
      }, ms);
      if (!check()) waiters.add(checker);
    });

  const opened = waitFor('stream-open', () => true, openTimeoutMs).then(() => undefined);
  opened.catch(() => undefined); // observed by whoever awaits it
  return { url, received, responses, opened, waitFor, close: () => es.close() };
}

export interface RawHead {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first body bytes as they came off the socket (not decompressed). */
  firstChunk: Buffer;
}

/**
 * One GET over `node:http` asking for gzip, resolved with the status, headers and the first
 * body chunk exactly as sent; then the connection is dropped.
 */
export function rawFirstChunk(url: string, ms: number): Promise<RawHead> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { Accept: 'text/event-stream', 'Accept-Encoding': 'gzip, deflate, br' } });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no body bytes from ${url} within ${ms}ms`));
    }, ms);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      res.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, firstChunk: chunk });
        req.destroy();
      });
    });
  });
}

/** POSTs one event as JSON to a publish route; resolves with the status. */
export async function publish(
  baseUrl: string,
  route: string,
  body: { channel?: string; room?: string; event: string; data: unknown },
): Promise<number> {
  const res = await fetch(baseUrl + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST ${route} answered ${res.status}: ${text}`);
  return res.status;
}
