import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium, shouldRunBrowserTests } from '../support/browser-chromium.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { Waiters, withTimeout } from '../support/wait.js';

// A deploy, end to end: two instances (separate processes) on the Redis engine behind a
// round-robin balancer that moves on when an upstream answers 503 (as nginx's
// proxy_next_upstream does). 1,000 `eventsource` clients and a Chromium page read one channel
// while a job process publishes; instance A gets SIGTERM, which drains it over DRAIN_MS.
// Every client must end with every event exactly once, the reconnections must be spread over
// the window (the histogram is printed), and A's server.close() must return.

const hasRedis = requireRedis();
const hasBrowser = shouldRunBrowserTests();
const CLIENTS = Number(process.env.DRAIN_CLIENTS ?? 1000);
const COUNT = 60;
const EVERY_MS = 100;
const DRAIN_MS = 4000;
const BUCKET_MS = 500;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

interface Child {
  child: ChildProcess;
  port: number;
  /** The next JSON line the process prints. */
  nextLine(): Promise<Record<string, number | number[]>>;
}

/** How many readers reached each mark; waiters are told only when a count moves. */
class Progress {
  subscribed = 0;
  warm = 0;
  complete = 0;
  readonly waiters = new Waiters();
}

/** One `eventsource` client: every message's data, and when each (re)connection opened. */
class Reader {
  readonly data: number[] = [];
  readonly opens: number[] = [];
  readonly ended: number[] = [];
  readonly source: EventSource;

  constructor(url: string, progress: Progress) {
    this.source = new EventSource(url);
    this.source.addEventListener('open', () => this.opens.push(performance.now()));
    // The end of a stream: eventsource reports it as an error, then reconnects after `retry`.
    this.source.addEventListener('error', () => this.ended.push(performance.now()));
    this.source.addEventListener('stream-open', () => {
      if (this.opens.length === 1) progress.subscribed++;
      progress.waiters.notify();
    });
    this.source.addEventListener('message', (event) => {
      this.data.push(Number(event.data));
      if (this.data.length === WARM) progress.warm++;
      else if (this.data.length === COUNT) progress.complete++;
      else return;
      progress.waiters.notify();
    });
  }
}

/** Events every client has before the drain starts: they resume by Last-Event-ID. */
const WARM = 5;

describe.runIf(hasRedis && hasBrowser)('drain across instances on the Redis engine', () => {
  const redis = useRedis();
  afterEach(runCleanups);

  const env = (prefix: string) => ({ ...process.env, REDIS_URL: redis.url, KEY_PREFIX: prefix });

  async function startChild(name: string, extraEnv: Record<string, string>): Promise<Child> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture(name)], {
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    defer(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await withTimeout(once(child, 'exit'), 5000, 'instance exit');
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const nextLine = async () => JSON.parse(((await lines.next()).value as string | undefined) ?? '{}') as Record<string, number | number[]>;
    const { port } = await withTimeout(nextLine(), 15_000, `${name} listening`);
    return { child, port: port as number, nextLine };
  }

  it(`every one of ${CLIENTS} eventsource clients and a Chromium page gets every event exactly once while instance A drains`, async () => {
    const prefix = `drain-${randomUUID()}:`;
    const instanceEnv = { ...env(prefix), DRAIN_MS: String(DRAIN_MS) };
    const [a, b] = await Promise.all([startChild('drain-instance', instanceEnv), startChild('drain-instance', instanceEnv)]);
    const balancer = await startChild('balancer', { UPSTREAMS: `${a.port},${b.port}` });
    const balancerUrl = `http://127.0.0.1:${balancer.port}`;

    const progress = new Progress();
    const { waiters } = progress;
    const readers = Array.from({ length: CLIENTS }, () => new Reader(`${balancerUrl}/stream/feed`, progress));
    defer(() => readers.forEach((r) => r.source.close()));
    await waiters.wait(() => progress.subscribed === CLIENTS, 60_000, `all ${CLIENTS} clients subscribed`);

    const browser = await launchChromium();
    defer(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${balancerUrl}/page`);
    await page.waitForFunction(() => (window as unknown as { opens: number }).opens >= 1, undefined, { timeout: 15_000 });

    const job = spawn(process.execPath, ['--import', 'tsx', fixture('paced-job')], {
      env: { ...env(prefix), CHANNEL: 'feed', COUNT: String(COUNT), EVERY_MS: String(EVERY_MS) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    defer(() => void job.kill('SIGKILL'));
    const jobDone = once(job, 'exit');

    // Drain once every client has had some events: they resume by Last-Event-ID.
    await waiters.wait(() => progress.warm === CLIENTS, 30_000, 'first events everywhere');
    const drainStarted = performance.now();
    a.child.kill('SIGTERM');
    const closed = await withTimeout(a.nextLine(), DRAIN_MS + 10_000, 'instance A closed');
    const [aCode] = (await withTimeout(once(a.child, 'exit'), 5000, 'instance A exit')) as [number];
    const [jobCode] = (await withTimeout(jobDone, 30_000, 'job exit')) as [number];
    expect(jobCode).toBe(0);
    expect(aCode).toBe(0);
    // server.close() returned once the drain had ended every stream.
    const closedAfterMs = closed.closedAfterMs as number;
    expect(closedAfterMs).toBeLessThan(DRAIN_MS + 3000);

    await waiters.wait(() => progress.complete === CLIENTS, 30_000, 'every event at every client');
    const expected = Array.from({ length: COUNT }, (_, i) => i);
    const wrong = readers.filter((r) => r.data.length !== COUNT || r.data.some((d, i) => d !== i));
    expect(wrong.map((r) => r.data.join(',')).slice(0, 3)).toEqual([]);
    await page.waitForFunction((n) => (window as unknown as { received: string[] }).received.length >= n, COUNT, { timeout: 15_000 });
    const inBrowser = await page.evaluate(() => (window as unknown as { received: string[] }).received.map(Number));
    expect(inBrowser).toEqual(expected);

    // Reconnections (a client's second open) relative to the start of the drain.
    const reconnects = readers.filter((r) => r.opens.length > 1).map((r) => r.opens[1]! - drainStarted);
    const ends = closed.endsAfterMs as number[];
    const serverSide = histogramOf(ends);
    const clientSide = histogramOf(reconnects);
    balancer.child.send('stats');
    const [{ movedOn }] = (await withTimeout(once(balancer.child, 'message'), 5000, 'balancer stats')) as [{ movedOn: Record<string, number> }];
    const movedOnFromA = movedOn[String(a.port)] ?? 0;
    console.log(
      `drain of instance A over ${DRAIN_MS} ms: ${ends.length} streams ended by A, ${reconnects.length} of ${CLIENTS} ` +
        `eventsource clients reconnected (${movedOnFromA} requests moved on from A's 503); server.close() returned after ${closedAfterMs} ms\n` +
        `percentiles (0/10/50/90/100) in ms after SIGTERM: A ended ${percentiles(ends)}; clients saw the end ${percentiles(
          readers.filter((r) => r.ended.length > 0).map((r) => r.ended[0]! - drainStarted),
        )}; clients reconnected ${percentiles(reconnects)}\n` +
        `ms after SIGTERM   streams ended (A)   clients reconnected (client clock)\n${sideBySide(serverSide, clientSide)}`,
    );
    const opensPerClient = new Map<number, number>();
    for (const r of readers) opensPerClient.set(r.opens.length, (opensPerClient.get(r.opens.length) ?? 0) + 1);
    console.log(`connections opened per client: ${[...opensPerClient].map(([opens, n]) => `${opens}: ${n}`).join(', ')}`);
    expect(readers.every((r) => r.opens.length <= 2)).toBe(true);
    expect(reconnects.length).toBeGreaterThanOrEqual(CLIENTS * 0.4);
    // The server ended every stream of A within the window, in waves, never all at once:
    // evenly spread is about 14 % per 500 ms bucket, and ending all at once puts 100 % in one.
    // (A process starved of CPU for a second runs that second's waves together: hence 40 %.)
    expect(ends.length).toBeGreaterThanOrEqual(reconnects.length);
    expect(Math.max(...ends)).toBeLessThanOrEqual(DRAIN_MS + 500);
    expect(spread(ends)).toBeGreaterThan(DRAIN_MS * 0.5);
    expect(Math.max(...serverSide)).toBeLessThanOrEqual(ends.length * 0.4);
    // The clients' own times are printed, not bounded: they are taken in this process, which
    // runs the thousand clients and on a loaded machine lags seconds behind (at a load average
    // of 20 on two cores, every reconnection landed after A had closed). The server side above
    // is what the drain controls; 503 + Retry-After is bounded in drain.test.ts and
    // example-sigterm.test.ts.
    expect(b.child.exitCode).toBeNull();
  }, 180_000);
});

function histogramOf(times: readonly number[]): number[] {
  const buckets = new Array<number>(Math.ceil((DRAIN_MS + 2000) / BUCKET_MS)).fill(0);
  for (const t of times) buckets[Math.min(buckets.length - 1, Math.max(0, Math.floor(t / BUCKET_MS)))]!++;
  return buckets;
}

/** From the 10th to the 90th percentile, in ms: how widely the times are spread. */
function spread(times: readonly number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length * 0.9)]! - sorted[Math.floor(sorted.length * 0.1)]!;
}

function sideBySide(left: readonly number[], right: readonly number[]): string {
  const bar = (n: number) => `${String(n).padStart(4)} ${'#'.repeat(Math.round(n / 8))}`.padEnd(20);
  return left
    .map((n, i) => `${String(i * BUCKET_MS).padStart(5)}–${String((i + 1) * BUCKET_MS).padEnd(6)}    ${bar(n)}${bar(right[i] ?? 0)}`)
    .join('\n');
}

function percentiles(times: readonly number[]): string {
  const sorted = [...times].sort((x, y) => x - y);
  return [0, 0.1, 0.5, 0.9, 1].map((q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN)).join('/');
}
