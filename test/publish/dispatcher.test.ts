import type { IncomingMessage } from 'node:http';
import { Publisher } from '@fanoutio/grip';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelBus } from '../../src/bus/ChannelBus.js';
import type { Frame } from '../../src/bus/Frame.js';
import { Subscriber } from '../../src/bus/Subscriber.js';
import { LocalEngine } from '../../src/memory/LocalEngine.js';
import { ClosedError, GripPublishError, HistoryError, InvalidEventError, RedisTimeoutError } from '../../src/errors.js';
import { GripTransport } from '../../src/grip/GripTransport.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import type { HistoryInput, HistoryRecord, HistoryStore, Replay } from '../../src/history/HistoryStore.js';
import { Metrics } from '../../src/telemetry/Metrics.js';
import { Dispatcher } from '../../src/publish/Dispatcher.js';
import { runCleanups } from '../support/cleanup.js';
import { RecordingSink } from '../support/recording-sink.js';
import { startHttp } from '../support/server.js';

/**
 * The Dispatcher driven directly through its seams: a real LocalEngine and bus with one
 * recording subscriber, the real in-memory store (or a store of the kind an app may give,
 * which fails on purpose), and a real GripTransport publishing over HTTP to a local endpoint
 * that records each publish and answers as told.
 */

afterEach(runCleanups);

/** A GRIP publish endpoint on 127.0.0.1: records each request's items, answers `status`. */
async function startGripEndpoint(): Promise<{ uri: string; publishes: Array<Array<{ channel: string; id?: string; content: string }>>; status: number }> {
  const endpoint = { uri: '', publishes: [] as Array<Array<{ channel: string; id?: string; content: string }>>, status: 200 };
  const started = await startHttp((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const items = (JSON.parse(body) as { items: Array<{ channel: string; id?: string; formats: { 'http-stream': { content: string } } }> }).items;
      endpoint.publishes.push(items.map((item) => ({ channel: item.channel, id: item.id, content: item.formats['http-stream'].content })));
      res.writeHead(endpoint.status, { 'Content-Type': 'text/plain' });
      res.end(endpoint.status === 200 ? 'Published\n' : 'proxy says no\n');
    });
  });
  endpoint.uri = started.url;
  return endpoint;
}

/** A store an app could give: keeps nothing, fails every append the way it is told to. */
class FailingStore implements HistoryStore {
  appends = 0;
  constructor(private readonly failure: () => never | Promise<never>) {}
  append(_channel: string, _inputs: readonly HistoryInput[]): HistoryRecord[] | Promise<HistoryRecord[]> {
    this.appends++;
    return this.failure();
  }
  readAfter(): Replay {
    return { records: [], complete: true };
  }
}

interface Setup {
  dispatcher: Dispatcher;
  sink: RecordingSink;
  metrics: Metrics;
  gripFailures: unknown[];
  closed: { value: boolean };
}

function setUp(options: { history?: HistoryStore; grip?: GripTransport; writesPending?: () => boolean } = {}): Setup {
  const metrics = new Metrics(false);
  const bus = new ChannelBus(undefined, metrics);
  const sink = new RecordingSink();
  const subscriber = new Subscriber(sink, ['news'], { maxBufferedBytes: 1 << 20, schedule: (s) => sink.scheduled.push(s), overflow: () => undefined });
  bus.add(subscriber);
  const engine = new LocalEngine(bus, 'history' in options ? options.history : new MemoryHistory());
  const gripFailures: unknown[] = [];
  const closed = { value: false };
  const dispatcher = new Dispatcher({
    engine,
    grip: options.grip,
    metrics,
    isClosed: () => closed.value,
    writesPending: options.writesPending,
    onGripFailure: (err) => gripFailures.push(err),
  });
  return { dispatcher, sink, metrics, gripFailures, closed };
}

function gripTo(uri: string): GripTransport {
  return new GripTransport(new Publisher({ control_uri: uri }), 'events-', false, 5000);
}

const dataLines = (sink: RecordingSink): string[] => sink.flushed().join('').split('\n').filter((line) => line.startsWith('data: '));

describe('Dispatcher', () => {
  describe('#publish: checks before anything is kept', () => {
    it('after close, rejects with ClosedError and delivers nothing', async () => {
      const { dispatcher, sink, closed, metrics } = setUp();
      closed.value = true;
      await expect(dispatcher.publish('news', [{ event: 'm', data: 1 }])).rejects.toBeInstanceOf(ClosedError);
      expect(sink.flushed()).toEqual([]);
      expect(metrics.eventsPublished).toBe(0);
    });

    it('one bad event refuses the whole batch: the good ones before it are not delivered either', async () => {
      const { dispatcher, sink, metrics } = setUp();
      const bad = { event: 'm', data: 2, id: 'a\nb' };
      await expect(dispatcher.publish('news', [{ event: 'm', data: 1 }, bad])).rejects.toBeInstanceOf(InvalidEventError);
      expect(sink.flushed()).toEqual([]);
      expect(metrics.eventsPublished).toBe(0);
    });

    it('an empty batch is a no-op that resolves', async () => {
      const { dispatcher, sink, metrics } = setUp();
      await expect(dispatcher.publish('news', [])).resolves.toBeUndefined();
      expect(sink.flushed()).toEqual([]);
      expect(metrics.eventsPublished).toBe(0);
    });

    it('the channel name is normalised as routes normalise it (surrounding white space)', async () => {
      const { dispatcher, sink } = setUp();
      await dispatcher.publish('  news ', [{ event: 'm', data: 'hi' }]);
      expect(dataLines(sink)).toEqual(['data: "hi"']);
    });
  });

  describe('#publish: the engine keeps, then delivers', () => {
    it('delivers the batch in order and counts each event once', async () => {
      const { dispatcher, sink, metrics } = setUp();
      await dispatcher.publish('news', [
        { event: 'm', data: 1 },
        { event: 'm', data: 2 },
        { event: 'm', data: 3 },
      ]);
      expect(dataLines(sink)).toEqual(['data: 1', 'data: 2', 'data: 3']);
      expect(metrics.eventsPublished).toBe(3);
    });

    it("a store's plain failure becomes HistoryError, and nothing is delivered (sync throw)", async () => {
      const store = new FailingStore(() => {
        throw new Error('disk full');
      });
      const { dispatcher, sink, metrics } = setUp({ history: store });
      const err = await dispatcher.publish('news', [{ event: 'm', data: 1 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HistoryError);
      expect((err as Error).message).toBe('history store could not keep the event: Error: disk full');
      expect(store.appends).toBe(1);
      expect(sink.flushed()).toEqual([]);
      expect(metrics.eventsPublished).toBe(0);
    });

    it("a store's rejected promise becomes HistoryError too", async () => {
      const { dispatcher, sink } = setUp({ history: new FailingStore(() => Promise.reject(new Error('gone'))) });
      const err = await dispatcher.publish('news', [{ event: 'm', data: 1 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HistoryError);
      expect((err as Error).message).toBe('history store could not keep the event: Error: gone');
      expect(sink.flushed()).toEqual([]);
    });

    it('an error that is already typed keeps its type and code (callers branch on it)', async () => {
      const timeout = new RedisTimeoutError('a publish', 2000, '127.0.0.1:6379');
      const { dispatcher } = setUp({ history: new FailingStore(() => Promise.reject(timeout)) });
      await expect(dispatcher.publish('news', [{ event: 'm', data: 1 }])).rejects.toBe(timeout);
    });
  });

  describe('#publish with GRIP', () => {
    it('with history: kept and delivered first, then ONE request carrying every event with its id', async () => {
      const endpoint = await startGripEndpoint();
      const { dispatcher, sink } = setUp({ grip: gripTo(endpoint.uri) });
      await dispatcher.publish('news', [
        { event: 'm', data: 1, id: 'x1' },
        { event: 'm', data: 2, id: 'x2' },
      ]);
      expect(dataLines(sink)).toEqual(['data: 1', 'data: 2']);
      expect(endpoint.publishes).toHaveLength(1);
      expect(endpoint.publishes[0]!.map((item) => item.channel)).toEqual(['events-news', 'events-news']);
      expect(endpoint.publishes[0]!.map((item) => item.content)).toEqual(['id: x1\nevent: m\ndata: 1\n\n', 'id: x2\nevent: m\ndata: 2\n\n']);
    });

    it('with history: a refused GRIP publish says the events were kept and must not be published again', async () => {
      const endpoint = await startGripEndpoint();
      endpoint.status = 500;
      const { dispatcher, sink, gripFailures, metrics } = setUp({ grip: gripTo(endpoint.uri) });
      const err = await dispatcher.publish('news', [{ event: 'm', data: 1 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GripPublishError);
      expect((err as GripPublishError).message).toContain('(the events were kept in history and sent to direct clients: do not publish them again)');
      expect((err as GripPublishError).statusCode).toBe(500);
      // Committed before the proxy refused: direct clients have it, and it counts.
      expect(dataLines(sink)).toEqual(['data: 1']);
      expect(metrics.eventsPublished).toBe(1);
      expect(gripFailures).toEqual([err]);
    });

    it('without history: the proxy is the commit point, so a refusal delivers nothing locally', async () => {
      const endpoint = await startGripEndpoint();
      endpoint.status = 500;
      const { dispatcher, sink, gripFailures, metrics } = setUp({ history: undefined, grip: gripTo(endpoint.uri) });
      const err = await dispatcher.publish('news', [{ event: 'm', data: 1 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GripPublishError);
      expect((err as Error).message).not.toContain('kept in history');
      expect(endpoint.publishes).toHaveLength(1);
      expect(sink.flushed()).toEqual([]);
      expect(metrics.eventsPublished).toBe(0);
      expect(gripFailures).toEqual([err]);
    });

    it('without history: an accepted publish is then delivered locally too', async () => {
      const endpoint = await startGripEndpoint();
      const { dispatcher, sink } = setUp({ history: undefined, grip: gripTo(endpoint.uri) });
      await dispatcher.publish('news', [{ event: 'm', data: 'a' }]);
      expect(endpoint.publishes).toHaveLength(1);
      expect(dataLines(sink)).toEqual(['data: "a"']);
    });
  });
});
