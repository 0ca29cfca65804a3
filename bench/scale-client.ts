/**
 * A load process of the scale scenario: holds its share of up to 100,000 SSE streams to one
 * server, each from one of several loopback source addresses (127.0.0.2, 127.0.0.3, …: Linux
 * routes all of 127.0.0.0/8 to lo, and each source address has its own port space),
 * remembers each stream's last event id, and reconnects every stream at once with
 * `Last-Event-ID` after the server dropped them. Driven by scenarios/scale.ts over IPC.
 *
 * Same parsing as the main client (bench/client.ts): a raw `net.Socket`, the minimal HTTP
 * reader and the byte-level SSE counter, which here also tracks ids, and a second counter
 * for `history-truncated`.
 */
import net from 'node:net';
import { wallClockMs } from './clock.ts';
import { HttpResponseReader } from './http-response.ts';
import {
  BENCH_EVENT_NAME,
  pathForChannel,
  type ScaleAwaitClosedRequest,
  type ScaleAwaitRequest,
  type ScaleAwaitResult,
  type ScaleClientMessage,
  type ScaleClientRequest,
  type ScaleClosedResult,
  type ScaleConnectRequest,
  type ScaleConnectResult,
} from './protocol.ts';
import { SseEventCounter } from './sse-counter.ts';

/**
 * Source ports are chosen here, not by the kernel: `bind(port 0)` scans for a free port and
 * slows to a crawl once most of an address's range is taken (tens of thousands of sockets),
 * and Node cannot set IP_BIND_ADDRESS_NO_PORT. Stream k of a source address uses port
 * PORT_BASE + k on even connection rounds and PORT_BASE + perSource + k on odd ones, so a
 * reconnect never reuses the tuple its previous connection left in TIME_WAIT.
 */
const PORT_BASE = 20_000;

/** One read buffer for every socket: each read is parsed before the next one happens. */
const READ_BUFFER = Buffer.alloc(64 * 1024);
const POLL_MS = 20;
const TRUNCATED_EVENT = 'history-truncated';

class Tally {
  received = 0;
  closed = 0;
  lastClosedAt = 0;
}

/** One logical client: survives reconnects, one socket at a time. */
class Stream {
  /** Bench events received on earlier connections. */
  private earlierEvents = 0;
  private earlierTruncated = 0;
  private lastIdSeen: string | undefined;
  private counter = new SseEventCounter(BENCH_EVENT_NAME, false, undefined, true);
  private truncated = new SseEventCounter(TRUNCATED_EVENT, false);
  private reader = this.newReader();
  private socket: net.Socket | undefined;
  lastEventAt = 0;
  closed = false;

  constructor(private readonly tally: Tally) {}

  get events(): number {
    return this.earlierEvents + this.counter.count;
  }

  get truncatedEvents(): number {
    return this.earlierTruncated + this.truncated.count;
  }

  /** What an EventSource would send on reconnect. */
  get lastEventId(): string | undefined {
    return this.counter.lastId ?? this.lastIdSeen;
  }

  /**
   * Opens a connection from `source`:`localPort` (or a port the kernel picks, if that one is
   * taken); resolves `true` once a 200 head arrived, else an error text.
   */
  async open(req: ScaleConnectRequest, source: string, localPort: number | undefined, giveUpAt: number): Promise<true | string> {
    const outcome = await this.openFrom(req, source, localPort, giveUpAt);
    if (outcome === 'address in use' && localPort !== undefined) return this.openFrom(req, source, undefined, giveUpAt);
    return outcome;
  }

  private openFrom(req: ScaleConnectRequest, source: string, localPort: number | undefined, giveUpAt: number): Promise<true | string> {
    if (this.socket !== undefined) this.retire();
    const path = pathForChannel(req.channel);
    const lastEventId = this.lastEventId;
    this.closed = false;
    let onRead: () => void = () => undefined;
    const socket = net.connect({
      host: '127.0.0.1',
      port: req.port,
      localAddress: source,
      ...(localPort !== undefined ? { localPort } : {}),
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number) => {
          this.onData(READ_BUFFER.subarray(0, bytes));
          onRead();
          return true;
        },
      },
    });
    this.socket = socket;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: true | string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        this.markClosed();
        settle(`timed out waiting for the response head of ${path}`);
      }, Math.max(0, giveUpAt - Date.now()));
      socket.on('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${req.port}\r\nAccept: text/event-stream\r\n` +
            `Cache-Control: no-cache\r\n${lastEventId === undefined ? '' : `Last-Event-ID: ${lastEventId}\r\n`}\r\n`,
        );
      });
      onRead = () => {
        if (this.reader.error !== undefined) settle(`${path}: ${this.reader.error}`);
        else if (this.reader.headComplete) {
          onRead = () => undefined;
          settle(true);
        }
      };
      socket.on('error', (err: NodeJS.ErrnoException) =>
        settle(err.code === 'EADDRINUSE' ? 'address in use' : `${path} from ${source}: ${err.message}`),
      );
      socket.on('close', () => {
        this.markClosed();
        settle(`${path}: closed before the response head`);
      });
    });
  }

  private onData(chunk: Buffer): void {
    const before = this.counter.count;
    this.reader.feed(chunk);
    const added = this.counter.count - before;
    if (added > 0) {
      this.tally.received += added;
      this.lastEventAt = wallClockMs();
    }
    if (this.reader.ended) this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.tally.closed++;
    this.tally.lastClosedAt = wallClockMs();
    this.socket?.destroy();
  }

  /** Folds the finished connection's counts into the stream's and starts fresh parsers. */
  private retire(): void {
    this.socket?.removeAllListeners('close');
    this.socket?.destroy();
    if (this.closed) this.tally.closed--;
    this.earlierEvents += this.counter.count;
    this.earlierTruncated += this.truncated.count;
    this.lastIdSeen = this.lastEventId;
    this.counter = new SseEventCounter(BENCH_EVENT_NAME, false, undefined, true);
    this.truncated = new SseEventCounter(TRUNCATED_EVENT, false);
    this.reader = this.newReader();
  }

  private newReader(): HttpResponseReader {
    return new HttpResponseReader((buf, start, end) => {
      this.counter.feed(buf, start, end);
      this.truncated.feed(buf, start, end);
    });
  }
}

class ScaleLoad {
  private streams: Stream[] = [];
  private readonly tally = new Tally();
  private round = 0;

  async connect(req: ScaleConnectRequest): Promise<ScaleConnectResult> {
    if (this.streams.length === 0) this.streams = Array.from({ length: req.count }, () => new Stream(this.tally));
    if (this.streams.length !== req.count) throw new Error(`expected ${this.streams.length} streams, got ${req.count}`);
    const resumed = this.streams.filter((s) => s.lastEventId !== undefined).length;
    const startedAt = wallClockMs();
    const giveUpAt = Date.now() + req.timeoutMs;
    let lastHeadAt = 0;
    const failures: string[] = [];
    const portOffset = PORT_BASE + (this.round++ % 2) * req.perSource;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.streams.length) {
        const i = next++;
        const global = req.first + i;
        const sourceIndex = Math.floor(global / req.perSource);
        const source = req.sources[Math.min(req.sources.length - 1, sourceIndex)]!;
        const localPort = sourceIndex < req.sources.length ? portOffset + (global % req.perSource) : undefined;
        const outcome = await this.streams[i]!.open(req, source, localPort, giveUpAt);
        if (outcome === true) lastHeadAt = wallClockMs();
        else failures.push(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(req.concurrency, this.streams.length) }, worker));
    return {
      type: 'scale-connected',
      id: req.id,
      connected: this.streams.length - failures.length,
      failed: failures.length,
      ...(failures[0] !== undefined ? { firstError: failures[0] } : {}),
      startedAt,
      lastHeadAt,
      resumed,
    };
  }

  async awaitEvents(req: ScaleAwaitRequest): Promise<ScaleAwaitResult> {
    const cpuAtStart = process.cpuUsage();
    const wallAtStart = Date.now();
    const expectedTotal = req.events * this.streams.length;
    while (Date.now() < req.deadline && this.tally.received < expectedTotal) {
      await sleep(Math.min(POLL_MS, Math.max(1, req.deadline - Date.now())));
    }
    const cpu = process.cpuUsage(cpuAtStart);
    let clientsComplete = 0;
    let clientsOverDelivered = 0;
    let clientsTruncated = 0;
    let lastReceiptAt = 0;
    for (const s of this.streams) {
      if (s.events === req.events) clientsComplete++;
      if (s.events > req.events) clientsOverDelivered++;
      if (s.truncatedEvents > 0) clientsTruncated++;
      lastReceiptAt = Math.max(lastReceiptAt, s.lastEventAt);
    }
    return {
      type: 'scale-received',
      id: req.id,
      clients: this.streams.length,
      clientsComplete,
      clientsOverDelivered,
      clientsClosed: this.tally.closed,
      clientsTruncated,
      received: this.tally.received,
      lastReceiptAt,
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      awaitWallMs: Date.now() - wallAtStart,
    };
  }

  async awaitClosed(req: ScaleAwaitClosedRequest): Promise<ScaleClosedResult> {
    while (Date.now() < req.deadline && this.tally.closed < this.streams.length) {
      await sleep(Math.min(POLL_MS, Math.max(1, req.deadline - Date.now())));
    }
    return {
      type: 'scale-closed',
      id: req.id,
      closed: this.tally.closed,
      clients: this.streams.length,
      lastClosedAt: this.tally.lastClosedAt,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function send(message: ScaleClientMessage): void {
  process.send?.(message);
}

function main(): void {
  if (process.send === undefined) {
    console.error('bench/scale-client.ts is started by bench/run.ts over IPC; run `npm run bench -- --scenarios=scale`.');
    process.exit(2);
  }
  const load = new ScaleLoad();
  process.on('message', (raw) => {
    const req = raw as ScaleClientRequest;
    const reply =
      req.type === 'scale-connect'
        ? load.connect(req)
        : req.type === 'scale-await'
          ? load.awaitEvents(req)
          : load.awaitClosed(req);
    reply.then(send, (err: unknown) => {
      console.error('[scale client]', err);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
  // Belt and braces: a busy connect loop must not outlive an orchestrator that was killed.
  setInterval(() => process.connected || process.exit(0), 1_000).unref();
  send({ type: 'ready' });
}

main();
