import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStream, InvalidConfigError } from '../../src/index.js';
import { GATHER_MS, Incidents, QUIET_MS } from '../../src/telemetry/incidents.js';
import { runCleanups, track } from '../support/cleanup.js';
import { IncidentLog } from '../support/incidents.js';
import { RawClient } from '../support/raw.js';
import { startHttp } from '../support/server.js';
import { observeFor, pollUntil } from '../support/wait.js';

afterEach(runCleanups);

describe('logger option', () => {
  it('accepts console, an object with error/warn/info, and false', () => {
    track(new EventStream({ logger: console }));
    track(new EventStream({ logger: { error() {}, warn() {}, info() {} } }));
    track(new EventStream({ logger: false }));
  });

  it('refuses a logger without error/warn/info, naming what is missing and what fits', () => {
    const attempt = () => new EventStream({ logger: { warn() {} } as never });
    expect(attempt).toThrow(InvalidConfigError);
    expect(attempt).toThrow(/logger is missing error\(\), info\(\): pass console, a pino or winston logger/);
  });

  it('refuses a logger that is not an object, with the value received', () => {
    expect(() => new EventStream({ logger: 'console' as never })).toThrow(/logger must be an object with error, warn and info methods .* got "console"/);
    expect(() => new EventStream({ logger: { error() {}, warn() {}, info() {}, debug: 1 } as never })).toThrow(/logger\.debug must be a function when given, got number/);
  });

  it('refuses an onIncident that is not a function', () => {
    expect(() => new EventStream({ onIncident: 'x' as never })).toThrow(/onIncident must be a function, got "x"/);
  });
});

describe('incidents from streams', () => {
  it('clients dropped by the bound in one burst: one line with their number', async () => {
    const log = new IncidentLog();
    const es = track(new EventStream({ maxBufferedBytes: 16 * 1024, keepAliveInterval: 60_000, history: false, logger: log, onIncident: log.hook }));
    const { port } = await startHttp((req, res) => void es('feed')(req, res));
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.get(port, { path: '/feed', retain: false })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    for (const client of clients) client.pause();
    const big = 'x'.repeat(64 * 1024);
    // Until the kernel's buffers are full and the bound is passed, which takes a few MB.
    for (let i = 0; i < 2000 && es.stats().clientsDropped < 3; i++) {
      await es.publishEvent('feed', { event: 'message', data: big });
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(es.stats().clientsDropped).toBe(3);
    const dropped = await log.next('client-dropped', 5000);
    expect(dropped.count).toBe(3);
    expect(log.lines).toEqual([
      { level: 'warn', text: 'gripstream: 3 clients were dropped in 1 s for leaving more than 16384 bytes unread (maxBufferedBytes); they reconnect and resume' },
    ]);
  });

  it('an onDisconnect that throws: the streams are cleaned up, one line for the burst', async () => {
    const log = new IncidentLog();
    const es = track(
      new EventStream({
        logger: log,
        onIncident: log.hook,
        onDisconnect: () => {
          throw new Error('boom in the app');
        },
      }),
    );
    const { port } = await startHttp((req, res) => void es('ch')(req, res));
    const clients = await Promise.all([1, 2].map(() => RawClient.get(port, { path: '/ch' })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    for (const client of clients) client.destroy();
    await pollUntil(() => es.stats().connections === 0, 5000, 'both streams removed');
    const threw = await log.next('on-disconnect-threw', 5000);
    expect(threw.count).toBe(2);
    expect(threw.error).toBeInstanceOf(Error);
    expect(log.lines).toEqual([
      { level: 'error', text: 'gripstream: your onDisconnect hook threw 2 times in 1 s (first: boom in the app); the streams were cleaned up anyway' },
    ]);
  });

  it('a logger or hook that throws does not break the stream or the publish', async () => {
    const es = track(
      new EventStream({
        logger: { error: () => { throw new Error('logger down'); }, warn() {}, info() {} },
        onIncident: () => {
          throw new Error('hook down');
        },
        onDisconnect: () => {
          throw new Error('boom');
        },
      }),
    );
    const { port } = await startHttp((req, res) => void es('ch')(req, res));
    const client = await RawClient.get(port, { path: '/ch' });
    await client.waitForEvents(1);
    client.destroy();
    await observeFor(GATHER_MS + 200);
    await es.publishEvent('ch', { event: 'message', data: 1 });
  });
});

describe('Incidents', () => {
  it('gathers a burst into one report, counts a going-on failure in one summary per quiet period', () => {
    vi.useFakeTimers();
    try {
      const log = new IncidentLog();
      const incidents = new Incidents(log, log.hook);
      incidents.clientDropped(100);
      incidents.clientDropped(100);
      expect(log.lines).toEqual([]);
      vi.advanceTimersByTime(GATHER_MS);
      expect(log.incidents.map((i) => i.count)).toEqual([2]);
      for (let i = 0; i < 5; i++) incidents.clientDropped(100);
      vi.advanceTimersByTime(QUIET_MS - 1);
      expect(log.incidents).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(log.incidents.map((i) => i.count)).toEqual([2, 5]);
      expect(log.lines[1]!.text).toContain('5 clients were dropped in 30 s');
      // A quiet period with nothing in it ends the incident: the next drop is news again.
      vi.advanceTimersByTime(QUIET_MS);
      incidents.clientDropped(100);
      vi.advanceTimersByTime(GATHER_MS);
      expect(log.incidents.map((i) => i.count)).toEqual([2, 5, 1]);
      expect(log.lines[2]!.text).toContain('1 client was dropped in 1 s');
    } finally {
      vi.useRealTimers();
    }
  });

  it('close() reports what was gathered at once', () => {
    const log = new IncidentLog();
    const incidents = new Incidents(log, log.hook);
    incidents.gripPublishFailed(new Error('refused'));
    incidents.close();
    expect(log.lines).toEqual([
      { level: 'error', text: 'gripstream: 1 GRIP publish failed in 1 s (first: refused); the publish calls rejected with GripPublishError' },
    ]);
  });
});
