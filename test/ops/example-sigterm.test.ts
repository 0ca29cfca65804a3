import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { getOnce } from '../support/server.js';
import { Waiters, withTimeout } from '../support/wait.js';

// The examples' SIGTERM wiring (examples/shutdown.ts), run as a deploy would: the Express
// example as its own process, streams open, then SIGTERM.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DRAIN_MS = 2000;

afterEach(runCleanups);

describe('examples/express/server.ts on SIGTERM', () => {
  it('drains over DRAIN_MS: readiness 503, new streams 503, open ones end with a retry:, then it exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/express/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DRAIN_MS: String(DRAIN_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    defer(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let output = '';
    const waiters = new Waiters();
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      waiters.notify();
    });
    await waiters.wait(() => /http:\/\/127\.0\.0\.1:\d+/.test(output), 20_000, 'the example to listen');
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(output)![0];
    const port = Number(new URL(base).port);
    expect((await getOnce(`${base}/readyz`)).status).toBe(200);
    const clients = await Promise.all([1, 2, 3, 4].map(() => RawClient.get(port, { path: '/api/events' })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));

    const exited = once(child, 'exit');
    const started = performance.now();
    child.kill('SIGTERM');
    // The first wave goes as soon as the signal is handled; the others are spread over the window.
    await Promise.race(clients.map((c) => c.waitForComplete(5000)));
    const ready = await getOnce(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body) as HealthReport).toMatchObject({ draining: true, ready: false });
    const refused = await getOnce(`${base}/api/events`, { Accept: 'text/event-stream' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');

    await Promise.all(clients.map((c) => c.waitForComplete(DRAIN_MS + 3000)));
    for (const client of clients) expect(client.bodyText).toMatch(/retry: \d+\n\n$/);
    const [code] = (await withTimeout(exited, DRAIN_MS + 5000, 'exit after the drain')) as [number];
    expect(code).toBe(0);
    expect(performance.now() - started).toBeGreaterThan(DRAIN_MS * 0.4);
  });
});
