/**
 * Test harness: a private Prometheus server (Debian's `prometheus` package) on a free loopback
 * port, with a temp config and data directory, scraping the given targets every second.
 * Stopped by PID (SIGTERM, then SIGKILL if it lingers). Queries go through its own HTTP API.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports.js';

export interface PrometheusInstance {
  port: number;
  /** `GET /api/v1/targets`: the active targets, with `health`, `lastScrape` and `lastError`. */
  targets(): Promise<PromTarget[]>;
  /** An instant query; the result vector (empty when the series has not been scraped yet). */
  query(expr: string): Promise<PromSample[]>;
  /** SIGTERM and wait for exit (bounded). Idempotent. */
  stop(): Promise<void>;
  log(): string;
}

export interface PromTarget {
  health: string;
  lastScrape: string;
  lastError: string;
  scrapeUrl: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export function prometheusAvailable(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** For `describe.runIf(requirePrometheus())`: throws under CI=true when missing, else warns loudly. */
export function requirePrometheus(): boolean {
  if (prometheusAvailable()) return true;
  const msg = 'prometheus not installed: apt-get install -y --no-install-recommends prometheus';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${msg} (the Prometheus tests must run in CI)`);
  console.warn(`\n!!!!! SKIPPING Prometheus tests: ${msg} !!!!!\n`);
  return false;
}

/** Starts Prometheus scraping `metricsPath` on each `127.0.0.1:<port>` of `targets`, every second. */
export async function startPrometheus(targets: readonly number[], metricsPath = '/metrics'): Promise<PrometheusInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-prometheus-'));
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, scrape_timeout: 1s }',
    'scrape_configs:',
    '  - job_name: gripstream',
    `    metrics_path: ${JSON.stringify(metricsPath)}`,
    `    static_configs: [ { targets: [${targets.map((t) => `'127.0.0.1:${t}'`).join(', ')}] } ]`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(STOP_TIMEOUT_MS)]);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) before it was ready:\n${log}`);
    try {
      const res = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within ${READY_TIMEOUT_MS} ms:\n${log}`);
    }
    await sleep(50);
  }
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await fetch(`${base}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    port,
    log: () => log,
    stop,
    targets: async () => (await api<{ activeTargets: PromTarget[] }>('/api/v1/targets')).activeTargets,
    query: async (expr) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
