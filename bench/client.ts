/**
 * The load process: holds thousands of raw SSE connections to one server and counts the
 * benchmark events each receives. Driven by the orchestrator over IPC (see protocol.ts).
 *
 * One process, one core: each connection is a bare `net.Socket` plus two small state
 * machines (HttpResponseReader → SseEventCounter), so the client stays far cheaper per
 * event than any server under test and the numbers measure the server.
 */
import net from 'node:net';
import { wallClockMs } from './clock.ts';
import { HttpResponseReader } from './http-response.ts';
import {
  BENCH_EVENT_NAME,
  channelOfClient,
  expectedForClient,
  pathForChannel,
  type AwaitRequest,
  type AwaitResult,
  type ClientMessage,
  type ClientProtocol,
  type ClientRequest,
  type ConnectRequest,
  type ConnectResult,
  type LatencySummary,
} from './protocol.ts';
import { SseEventCounter } from './sse-counter.ts';
import { SOCKET_IO_PATH, SocketIoReader, socketIoUpgradeRequest } from './socketio-connection.ts';

/**
 * One read buffer shared by every socket (`onread`): each read is parsed synchronously
 * before the next can happen, and skipping a Buffer allocation and a stream 'data' event
 * per read keeps the client cheaper than the servers it measures (the latency scenario
 * is 100,000 small reads a second).
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/** How often a pending `await` re-checks whether every client got its events. */
const AWAIT_POLL_MS = 20;

/** Publish→receive latencies in ms, appended by every connection. */
class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    // Nearest-rank percentile.
    const at = (q: number): number =>
      sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
    return { samples: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}

class Tally {
  /** Bench events received by all connections together. */
  received = 0;
  closed = 0;
}

/** What a connection's bytes go through: SSE over HTTP, or socket.io over WebSocket. */
interface EventReader {
  feed(chunk: Buffer): void;
  readonly count: number;
  readonly headComplete: boolean;
  readonly ended: boolean;
  readonly error: string | undefined;
}

function sseReader(onMatch: ((data: string | undefined) => void) | undefined): EventReader {
  const counter = new SseEventCounter(BENCH_EVENT_NAME, onMatch !== undefined, onMatch);
  const reader = new HttpResponseReader((buf, start, end) => counter.feed(buf, start, end));
  return {
    feed: (chunk) => reader.feed(chunk),
    get count() {
      return counter.count;
    },
    get headComplete() {
      return reader.headComplete;
    },
    get ended() {
      return reader.ended;
    },
    get error() {
      return reader.error;
    },
  };
}

class BenchConnection {
  /** Wall-clock ms of the latest counted event. */
  lastEventAt = 0;
  closed = false;

  private readonly reader: EventReader;
  /** Receive time of the read being parsed; what latency samples are measured against. */
  private receivedAt = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly tally: Tally,
    latency: LatencyRecorder | undefined,
    warmupEvents: number,
    protocol: ClientProtocol,
  ) {
    const onMatch = latency
      ? (data: string | undefined) => {
          const { n, t } = parsePayload(data);
          if (!(n < warmupEvents)) latency.add(this.receivedAt - t);
        }
      : undefined;
    this.reader = protocol === 'socket.io' ? new SocketIoReader(socket, onMatch) : sseReader(onMatch);
  }

  get events(): number {
    return this.reader.count;
  }

  get headError(): string | undefined {
    return this.reader.error;
  }

  get headComplete(): boolean {
    return this.reader.headComplete;
  }

  onData(chunk: Buffer): void {
    this.receivedAt = wallClockMs();
    const before = this.reader.count;
    this.reader.feed(chunk);
    const added = this.reader.count - before;
    if (added > 0) {
      this.tally.received += added;
      this.lastEventAt = this.receivedAt;
    }
    if (this.reader.ended) this.markClosed();
  }

  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.tally.closed++;
    this.socket.destroy();
  }
}

function parsePayload(data: string | undefined): { n: number; t: number } {
  // The payload is {"n":<index>,"t":<publish wall-clock ms>} for every implementation.
  const parsed = (data === undefined ? undefined : JSON.parse(data)) as { n?: unknown; t?: unknown } | undefined;
  return {
    n: typeof parsed?.n === 'number' ? parsed.n : NaN,
    t: typeof parsed?.t === 'number' ? parsed.t : NaN,
  };
}

/** Everything the client holds between `connect` and process exit. */
class LoadClient {
  private connections: BenchConnection[] = [];
  private readonly tally = new Tally();
  private latency: LatencyRecorder | undefined;
  private layout: ConnectRequest['layout'] | undefined;
  private warmupEvents = 0;

  async connect(req: ConnectRequest): Promise<ConnectResult> {
    this.layout = req.layout;
    this.latency = req.collectLatency ? new LatencyRecorder() : undefined;
    this.warmupEvents = req.latencyWarmupEvents ?? 0;
    const outcomes = await this.openAll(req);
    const failures = outcomes.filter((o): o is string => typeof o === 'string');
    return {
      type: 'connected',
      id: req.id,
      connected: outcomes.length - failures.length,
      failed: failures.length,
      ...(failures[0] !== undefined ? { firstError: failures[0] } : {}),
    };
  }

  /** Opens `clients` sockets, at most `concurrency` at a time; each settles as ok or an error. */
  private openAll(req: ConnectRequest): Promise<(true | string)[]> {
    const outcomes: (true | string)[] = new Array(req.clients);
    const giveUpAt = Date.now() + req.timeoutMs;
    let launched = 0;
    let settled = 0;
    return new Promise((resolve) => {
      if (req.clients === 0) return resolve(outcomes);
      const launchNext = (): void => {
        if (launched >= req.clients) return;
        const index = launched++;
        this.openOne(req, index, giveUpAt).then((outcome) => {
          outcomes[index] = outcome;
          if (++settled === req.clients) resolve(outcomes);
          else launchNext();
        });
      };
      for (let i = 0; i < Math.min(req.concurrency, req.clients); i++) launchNext();
    });
  }

  /** Resolves `true` once the response head (status 200) arrived, else an error text. */
  private openOne(req: ConnectRequest, index: number, giveUpAt: number): Promise<true | string> {
    const protocol = req.protocol ?? 'sse';
    const path = protocol === 'socket.io' ? SOCKET_IO_PATH : pathForChannel(channelOfClient(req.layout, index));
    // Clients are spread round-robin over the instances' ports.
    const ports = req.ports ?? [req.port];
    const port = ports[index % ports.length]!;
    // Until the head is in, reads also check for it; afterwards they only count events.
    let onRead: (chunk: Buffer) => void = () => undefined;
    const socket = net.connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buf: Uint8Array) => {
          onRead((buf as Buffer).subarray(0, bytes));
          return true;
        },
      },
    });
    const connection = new BenchConnection(socket, this.tally, this.latency, this.warmupEvents, protocol);
    this.connections.push(connection);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: true | string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        connection.markClosed();
        settle(`timed out waiting for the response head of ${path}`);
      }, Math.max(0, giveUpAt - Date.now()));
      socket.on('connect', () => {
        socket.write(
          protocol === 'socket.io'
            ? socketIoUpgradeRequest(port)
            : `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
                'Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n',
        );
      });
      onRead = (chunk) => {
        connection.onData(chunk);
        if (connection.headError !== undefined) settle(`${path}: ${connection.headError}`);
        else if (connection.headComplete) {
          onRead = (next) => connection.onData(next);
          settle(true);
        }
      };
      socket.on('error', (err) => settle(`${path}: ${err.message}`));
      socket.on('close', () => {
        connection.markClosed();
        settle(`${path}: closed before the response head`);
      });
    });
  }

  /** Waits until every client has its share of `events`, or the deadline passes. */
  async awaitDelivery(req: AwaitRequest): Promise<AwaitResult> {
    const layout = this.layout;
    if (layout === undefined) throw new Error('await before connect');
    const expected = this.connections.map((_, i) => expectedForClient(layout, req.events, i));
    const expectedTotal = expected.reduce((a, b) => a + b, 0);
    const cpuAtStart = process.cpuUsage();
    const wallAtStart = Date.now();
    // Bounded by the deadline; the cheap total check avoids scanning every connection.
    while (Date.now() < req.deadline && this.tally.received < expectedTotal) {
      await sleep(Math.min(AWAIT_POLL_MS, Math.max(1, req.deadline - Date.now())));
    }
    const cpu = process.cpuUsage(cpuAtStart);
    const usage = { clientCpuMs: (cpu.user + cpu.system) / 1000, awaitWallMs: Date.now() - wallAtStart };
    return this.result(req.id, expected, expectedTotal, usage);
  }

  private result(
    id: number,
    expected: number[],
    expectedTotal: number,
    usage: Pick<AwaitResult, 'clientCpuMs' | 'awaitWallMs'>,
  ): AwaitResult {
    let clientsComplete = 0;
    let clientsOverDelivered = 0;
    let lastReceiptAt = 0;
    this.connections.forEach((c, i) => {
      if (c.events === expected[i]) clientsComplete++;
      if (c.events > expected[i]!) clientsOverDelivered++;
      lastReceiptAt = Math.max(lastReceiptAt, c.lastEventAt);
    });
    const all = this.connections.length;
    return {
      type: 'received',
      id,
      complete: clientsComplete === all && this.tally.closed === 0,
      received: this.tally.received,
      expected: expectedTotal,
      clientsComplete,
      clientsOverDelivered,
      clientsClosed: this.tally.closed,
      lastReceiptAt,
      ...usage,
      ...(this.latency ? { latency: this.latency.summary() } : {}),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function send(message: ClientMessage): void {
  process.send?.(message);
}

function main(): void {
  if (process.send === undefined) {
    console.error('bench/client.ts is started by bench/run.ts over IPC; run `npm run bench`.');
    process.exit(2);
  }
  const client = new LoadClient();
  process.on('message', (raw) => {
    const req = raw as ClientRequest;
    const reply = req.type === 'connect' ? client.connect(req) : client.awaitDelivery(req);
    reply.then(send, (err: unknown) => {
      console.error('[client]', err);
      process.exit(1);
    });
  });
  // The orchestrator going away (or tearing down) is our signal to stop: never linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main();
