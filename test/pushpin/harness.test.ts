/**
 * Self-test of the Pushpin harness against the real `pushpin` binary.
 * Skipped (loudly) when pushpin is not installed, unless CI=true, where it fails.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { Publisher, parseGripUri } from '@fanoutio/grip';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { requirePushpin, startPushpin, type PushpinInstance, type PushpinOptions } from '../support/pushpin.js';

const HOLD_BODY = 'event: stream-open\ndata: \n\n';

// ---------------------------------------------------------------------------------------------
// helpers (every await bounded)

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Dead or zombie (a zombie holds no ports and only waits to be reaped). */
function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function portFree(port: number): Promise<boolean> {
  return within(
    new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
    }),
    2000,
    `probe port ${port}`,
  );
}

interface Origin {
  port: number;
  gripSigs: string[];
  close(): Promise<void>;
}

/** GRIP origin: every request gets a stream hold on channel `test` (or a plain text reply). */
async function startOrigin(kind: { hold: true } | { hold: false; name: string }): Promise<Origin> {
  const gripSigs: string[] = [];
  const server = http.createServer((req, res) => {
    const sig = req.headers['grip-sig'];
    if (typeof sig === 'string') gripSigs.push(sig);
    if (kind.hold) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Grip-Hold': 'stream',
        'Grip-Channel': 'test',
      });
      res.end(HOLD_BODY);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${kind.name} ${req.url}`);
    }
  });
  const port = await freePort();
  await within(new Promise<void>((r) => server.listen(port, '127.0.0.1', r)), 2000, 'origin listen');
  return {
    port,
    gripSigs,
    close: () => {
      server.closeAllConnections();
      return within(new Promise<void>((r) => server.close(() => r())), 2000, 'origin close');
    },
  };
}

interface StreamClient {
  response: Promise<http.IncomingMessage>;
  text(): string;
  waitFor(needle: string, ms?: number): Promise<void>;
  closed: Promise<void>;
  close(): void;
}

/** Raw HTTP client reading a (never-ending) response body. */
function openStream(port: number, path: string): StreamClient {
  let data = '';
  const listeners = new Set<() => void>();
  const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { accept: 'text/event-stream' } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
        for (const l of listeners) l();
      });
      resolve(res);
    });
    req.once('error', reject);
  });
  response.catch(() => undefined);
  const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
  return {
    response,
    text: () => data,
    waitFor(needle, ms = 3000) {
      if (data.includes(needle)) return Promise.resolve();
      let l: (() => void) | undefined;
      return within(
        new Promise<void>((resolve) => {
          l = () => {
            if (data.includes(needle)) resolve();
          };
          listeners.add(l);
        }),
        ms,
        `stream to contain ${JSON.stringify(needle)}; got ${JSON.stringify(data)}`,
      ).finally(() => {
        if (l) listeners.delete(l);
      });
    },
    closed,
    close: () => req.destroy(),
  };
}

async function publish(inst: PushpinInstance, content: string, channel = 'test'): Promise<void> {
  const res = await fetch(`${inst.controlUri}publish/`, {
    method: 'POST',
    body: JSON.stringify({ items: [{ channel, formats: { 'http-stream': { content } } }] }),
    signal: AbortSignal.timeout(3000),
  });
  expect(res.status, await res.text()).toBe(200);
}

async function plainGet(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  return `${res.status} ${await res.text()}`;
}

// ---------------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<void>> = [];
const instances: PushpinInstance[] = [];

async function start(opts: PushpinOptions): Promise<PushpinInstance> {
  const t0 = performance.now();
  const inst = await startPushpin(opts);
  console.info(`pushpin ready in ${Math.round(performance.now() - t0)} ms (http ${inst.httpPort}, publish ${inst.publishPort})`);
  instances.push(inst);
  return inst;
}

async function origin(kind: Parameters<typeof startOrigin>[0]): Promise<Origin> {
  const o = await startOrigin(kind);
  cleanups.push(() => o.close());
  return o;
}

/** Stream through pushpin, check the hold body arrives and a publish is delivered. */
async function roundTrip(inst: PushpinInstance, marker: string): Promise<StreamClient> {
  const client = openStream(inst.httpPort, '/stream');
  const res = await within(client.response, 3000, 'response headers');
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/event-stream');
  expect(res.headers['grip-hold']).toBeUndefined();
  await client.waitFor(HOLD_BODY);
  await publish(inst, `event: a\ndata: ${marker}\n\n`);
  await client.waitFor(`event: a\ndata: ${marker}\n\n`);
  return client;
}

describe.runIf(requirePushpin())('pushpin harness (real pushpin)', { timeout: 30_000 }, () => {
  afterEach(async () => {
    for (const inst of instances.splice(0)) {
      await inst.stop().catch(() => undefined);
    }
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 20_000);

  it('proxies a GRIP hold, delivers a publish, and stop() frees pid and ports', async () => {
    const o = await origin({ hold: true });
    const inst = await start({ originPort: o.port });
    expect(inst.controlUri).toBe(`http://127.0.0.1:${inst.publishPort}/`);
    expect(inst.childPids()).toHaveLength(4);

    await inst.waitForOrigin('/stream', 5000);
    const client = openStream(inst.httpPort, '/stream');
    const res = await within(client.response, 3000, 'response headers');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    await client.waitFor(HOLD_BODY);

    await publish(inst, 'event: a\ndata: 1\n\n');
    await client.waitFor('event: a\ndata: 1\n\n');

    // gripUrl works with @fanoutio/grip: parse, publish and verify Pushpin's Grip-Sig.
    expect(parseGripUri(inst.gripUrl)).toEqual({
      control_uri: inst.controlUri,
      control_iss: 'pushpin',
      key: 'changeme',
    });
    const publisher = new Publisher(inst.gripUrl);
    await within(publisher.publishHttpStream('test', 'event: b\ndata: 2\n\n'), 3000, 'grip publish');
    await client.waitFor('event: b\ndata: 2\n\n');
    const sig = o.gripSigs.at(-1);
    expect(sig).toBeTypeOf('string');
    expect((await publisher.validateGripSig(sig ?? null)).isSigned).toBe(true);
    expect(inst.log()).toContain('[handler] started');

    client.close();
    const pids = [inst.pid, ...inst.childPids()];
    const t0 = performance.now();
    await inst.stop();
    console.info(`pushpin stopped in ${Math.round(performance.now() - t0)} ms`);
    for (const pid of pids) expect(gone(pid), `pid ${pid} still alive`).toBe(true);
    expect(await portFree(inst.httpPort)).toBe(true);
    expect(await portFree(inst.publishPort)).toBe(true);
    expect(fs.existsSync(inst.workdir)).toBe(false);
    expect(inst.log()).toContain('stopped'); // kept in memory after the workdir is gone
    await inst.stop(); // idempotent
    await inst.kill(); // and harmless afterwards
  });

  it('runs two instances side by side, isolated from each other', async () => {
    const o = await origin({ hold: true });
    const [a, b] = await within(
      Promise.all([start({ originPort: o.port }), start({ originPort: o.port, sigKey: 's3cret', sigIss: 'myiss' })]),
      15_000,
      'two starts',
    );
    expect(new Set([a.httpPort, a.publishPort, b.httpPort, b.publishPort]).size).toBe(4);
    expect(a.workdir).not.toBe(b.workdir);
    expect(a.pid).not.toBe(b.pid);
    await Promise.all([a.waitForOrigin('/stream'), b.waitForOrigin('/stream')]);

    const ca = openStream(a.httpPort, '/stream');
    const cb = openStream(b.httpPort, '/stream');
    await Promise.all([ca.waitFor(HOLD_BODY), cb.waitFor(HOLD_BODY)]);
    await publish(a, 'data: only-a\n\n');
    await publish(b, 'data: only-b\n\n');
    await Promise.all([ca.waitFor('data: only-a\n\n'), cb.waitFor('data: only-b\n\n')]);
    await new Promise((r) => setTimeout(r, 200));
    expect(ca.text()).not.toContain('only-b');
    expect(cb.text()).not.toContain('only-a');

    // b signs with its own key/issuer
    expect(b.gripUrl).toBe(`http://127.0.0.1:${b.publishPort}/?iss=myiss&key=s3cret`);
    const sigs = [...o.gripSigs];
    const okForB = await Promise.all(sigs.map(async (s) => (await new Publisher(b.gripUrl).validateGripSig(s)).isSigned));
    const okForA = await Promise.all(sigs.map(async (s) => (await new Publisher(a.gripUrl).validateGripSig(s)).isSigned));
    expect(okForB.some(Boolean)).toBe(true);
    expect(okForA.some(Boolean)).toBe(true);
    expect(okForA.every((x, i) => x !== okForB[i])).toBe(true); // every sig is valid for exactly one

    ca.close();
    cb.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('restarts on the same ports after stop()', async () => {
    const o = await origin({ hold: true });
    const first = await start({ originPort: o.port });
    await first.waitForOrigin('/stream');
    (await roundTrip(first, 'first')).close();
    await first.stop();

    const second = await start({ originPort: o.port, httpPort: first.httpPort, publishPort: first.publishPort });
    expect(second.httpPort).toBe(first.httpPort);
    expect(second.publishPort).toBe(first.publishPort);
    expect(second.pid).not.toBe(first.pid);
    await second.waitForOrigin('/stream');
    (await roundTrip(second, 'second')).close();
    await second.stop();
  });

  it('kill() takes down runner and children abruptly; the ports can be reused', async () => {
    const o = await origin({ hold: true });
    const inst = await start({ originPort: o.port });
    await inst.waitForOrigin('/stream');
    const client = await roundTrip(inst, 'before-kill');
    const pids = [inst.pid, ...inst.childPids()];
    expect(pids).toHaveLength(5);

    await inst.kill();
    for (const pid of pids) expect(gone(pid), `pid ${pid} still alive`).toBe(true);
    await within(client.closed, 3000, 'client sees the connection drop');
    expect(await portFree(inst.httpPort)).toBe(true);
    expect(await portFree(inst.publishPort)).toBe(true);
    await inst.stop(); // idempotent after kill

    const again = await start({ originPort: o.port, httpPort: inst.httpPort, publishPort: inst.publishPort });
    await again.waitForOrigin('/stream');
    (await roundTrip(again, 'after-kill')).close();
    await again.stop();
  });

  it('routes to several origins (whitespace-separated targets) with failover', async () => {
    const a = await origin({ hold: false, name: 'A' });
    const b = await origin({ hold: false, name: 'B' });
    const inst = await start({ originPort: a.port, origins: [a.port, b.port] });
    await inst.waitForOrigin('/');
    expect(await plainGet(inst.httpPort, '/x')).toBe('200 A /x'); // first target while it is up
    await a.close();
    expect(await plainGet(inst.httpPort, '/y')).toBe('200 B /y');
    await b.close();
    const down = await plainGet(inst.httpPort, '/z');
    expect(down).toMatch(/^502 /);
    expect(down).toContain(`127.0.0.1:${a.port}, 127.0.0.1:${b.port}`);
    await inst.stop();
  });

  it('waitForOrigin() fails, bounded and with the log, when the origin is down', async () => {
    const deadPort = await freePort();
    const inst = await start({ originPort: deadPort });
    const t0 = performance.now();
    await expect(inst.waitForOrigin('/', 600)).rejects.toThrow(/did not reach the origin[\s\S]*Unable to connect/);
    expect(performance.now() - t0).toBeLessThan(3000);
    await inst.stop();
  });

  it('startPushpin() rejects with the log when its port is taken, leaving nothing behind', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await within(new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r)), 2000, 'blocker listen');
    cleanups.push(() => within(new Promise<void>((r) => blocker.close(() => r())), 2000, 'blocker close'));
    const publishPort = await freePort();
    await expect(
      within(startPushpin({ originPort: 1, httpPort: port, publishPort }), 15_000, 'failing start'),
    ).rejects.toThrow(/Address already in use/); // "exited early" or "held by another process", both with the log
    expect(await portFree(publishPort)).toBe(true);

    // pushpin-handler does not fail on a taken control port (it logs "started" anyway), and the
    // squatter here even answers like Pushpin: the harness must notice it is not its listener.
    const fake = http.createServer((_req, res) => res.end('Pushpin API\n'));
    await within(new Promise<void>((r) => fake.listen(publishPort, '127.0.0.1', r)), 2000, 'fake listen');
    cleanups.push(() => within(new Promise<void>((r) => fake.close(() => r())), 2000, 'fake close'));
    const httpPort = await freePort();
    await expect(
      within(startPushpin({ originPort: 1, httpPort, publishPort }), 15_000, 'failing start'),
    ).rejects.toThrow(/publish port \d+ is held by another process/);
    expect(await portFree(httpPort)).toBe(true);
  });
});
