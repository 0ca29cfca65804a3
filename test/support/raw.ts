import net from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { defer } from './cleanup.js';
import { Waiters, withTimeout } from './wait.js';

export interface RawHead {
  statusLine: string;
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Names exactly as sent, in order. */
  names: string[];
}

export interface RawEvent extends EventSourceMessage {
  /** performance.now() when the event's bytes were complete. */
  at: number;
}

export interface RawComment {
  text: string;
  at: number;
}

export interface RawRequest {
  path: string;
  /** Sent as given, after Host; `null` drops the default Accept. */
  headers?: Record<string, string>;
  accept?: string | null;
  /** Default '1.1'. */
  httpVersion?: '1.0' | '1.1';
  /** Default 'GET'. */
  method?: 'GET' | 'HEAD';
  /** Keep every raw byte and the whole body text (default true); off for bulk streams. */
  retain?: boolean;
}

/**
 * An HTTP/1.1 client on a bare socket: the request bytes are exactly what the test says, and
 * every byte received is kept. The body is de-chunked as it arrives and fed to an SSE parser
 * (`events`, `comments`); `bodyText` is the de-chunked stream for exact-byte assertions.
 * `pause()` stops reading from the kernel, as a stalled client would.
 */
export class RawClient {
  readonly socket: net.Socket;
  /** Every byte received, head included. */
  readonly raw: Buffer[] = [];
  rawLength = 0;
  head: RawHead | undefined;
  /** The body as decoded so far (without chunk framing). */
  bodyText = '';
  bodyBytes = 0;
  /** The response body has ended (chunked terminator or Content-Length reached). */
  complete = false;
  /** The socket has closed. */
  closed = false;
  readonly events: RawEvent[] = [];
  readonly comments: RawComment[] = [];
  /** When the head arrived (performance.now()). */
  headAt: number | undefined;

  private readonly waiters = new Waiters();
  private pending: Buffer = Buffer.alloc(0);
  private chunked = false;
  private remainingLength: number | undefined;
  private readonly decoder = new TextDecoder();
  private readonly parser = createParser({
    onEvent: (event) => this.events.push({ ...event, at: performance.now() }),
    onComment: (text) => this.comments.push({ text, at: performance.now() }),
  });
  readonly closedPromise: Promise<void>;

  private constructor(
    socket: net.Socket,
    private readonly retain: boolean,
  ) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.waiters.notify();
        resolve();
      });
    });
    socket.on('error', () => {
      /* ECONNRESET when the server drops us: seen through `closed`. */
    });
  }

  /** Connects, writes the request, and registers the socket for clean-up. */
  static async get(port: number, request: RawRequest): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const client = new RawClient(socket, request.retain ?? true);
    defer(() => client.destroy());
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      5000,
      'TCP connect',
    );
    const lines = [`${request.method ?? 'GET'} ${request.path} HTTP/${request.httpVersion ?? '1.1'}`, `Host: 127.0.0.1:${port}`];
    const accept = request.accept === undefined ? 'text/event-stream' : request.accept;
    if (accept !== null) lines.push(`Accept: ${accept}`);
    for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    return client;
  }

  /** All bytes received so far as text (head and chunk framing included). */
  get rawText(): string {
    return Buffer.concat(this.raw).toString('utf8');
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once `check(this)` holds; re-checked on every received chunk and on close. */
  waitFor(check: (client: RawClient) => boolean, what: string, ms = 5000): Promise<void> {
    return this.waiters.wait(() => check(this), ms, what);
  }

  waitForHead(ms = 5000): Promise<RawHead> {
    return this.waitFor((c) => c.head !== undefined, 'the response head', ms).then(() => this.head!);
  }

  /** Waits for `n` SSE events in total (stream-open included). */
  waitForEvents(n: number, ms = 5000): Promise<RawEvent[]> {
    return this.waitFor((c) => c.events.length >= n, `${n} events (have ${this.events.length})`, ms).then(
      () => this.events,
    );
  }

  waitForBody(text: string, ms = 5000): Promise<void> {
    return this.waitFor((c) => c.bodyText.includes(text), `body to contain ${JSON.stringify(text)}`, ms);
  }

  waitForComplete(ms = 5000): Promise<void> {
    return this.waitFor((c) => c.complete, 'the response body to end', ms);
  }

  waitForClose(ms = 5000): Promise<void> {
    return withTimeout(this.closedPromise, ms, 'the socket to close');
  }

  private onData(chunk: Buffer): void {
    if (this.retain) this.raw.push(chunk);
    this.rawLength += chunk.length;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.head === undefined) this.parseHead();
    if (this.head !== undefined) this.parseBody();
    this.waiters.notify();
  }

  private parseHead(): void {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end === -1) return;
    const [statusLine = '', ...headerLines] = this.pending.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    const names: string[] = [];
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      names.push(name);
      const key = name.toLowerCase();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    }
    this.head = { statusLine, status: Number(statusLine.split(' ')[1]), headers, names };
    this.headAt = performance.now();
    this.pending = this.pending.subarray(end + 4);
    this.chunked = /\bchunked\b/i.test(headers['transfer-encoding'] ?? '');
    if (headers['content-length'] !== undefined) this.remainingLength = Number(headers['content-length']);
    if (this.remainingLength === 0) this.complete = true;
  }

  private parseBody(): void {
    if (!this.chunked) {
      if (this.complete) return;
      let take = this.pending;
      if (this.remainingLength !== undefined) {
        take = take.subarray(0, this.remainingLength);
        this.remainingLength -= take.length;
        if (this.remainingLength === 0) this.complete = true;
      }
      this.pending = this.pending.subarray(take.length);
      this.feed(take);
      return;
    }
    while (!this.complete) {
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd === -1) return;
      const sizeLine = this.pending.subarray(0, lineEnd).toString('latin1');
      const size = /^[0-9a-f]+$/i.test(sizeLine) ? parseInt(sizeLine, 16) : NaN;
      if (!Number.isFinite(size)) throw new Error(`bad chunk size line: ${this.pending.subarray(0, lineEnd).toString()}`);
      if (size === 0) {
        if (this.pending.length < lineEnd + 4) return;
        this.complete = true;
        this.pending = this.pending.subarray(lineEnd + 4);
        return;
      }
      if (this.pending.length < lineEnd + 2 + size + 2) return;
      if (this.pending[lineEnd + 2 + size] !== 0x0d || this.pending[lineEnd + 3 + size] !== 0x0a) {
        throw new Error(`chunk of ${size} bytes is not followed by CRLF`);
      }
      const data = this.pending.subarray(lineEnd + 2, lineEnd + 2 + size);
      this.pending = this.pending.subarray(lineEnd + 2 + size + 2);
      this.feed(data);
    }
  }

  private feed(data: Buffer): void {
    if (data.length === 0) return;
    this.bodyBytes += data.length;
    const text = this.decoder.decode(data, { stream: true });
    if (this.retain) this.bodyText += text;
    this.parser.feed(text);
  }
}
