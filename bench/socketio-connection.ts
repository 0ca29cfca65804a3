/**
 * A socket.io 4 client cut down to what the benchmark needs, on a bare `net.Socket`, so the
 * load client stays cheaper per event than the servers it measures (socket.io-client keeps a
 * Manager, an engine.io transport, a packet decoder and an emitter per connection, and would
 * JSON-decode every packet; here a frame is counted by its first bytes).
 *
 * The wire, as socket.io 4 speaks it over WebSocket (engine.io protocol 4, RFC 6455):
 *   → `GET /socket.io/?EIO=4&transport=websocket` with an Upgrade; ← `101`;
 *   ← `0{…}` (engine.io open)  → `40` (join namespace /)  ← `40{"sid":…}`: connected;
 *   ← `2` (ping)  → `3` (pong);   ← `42["b",{"n":…,"t":…}]`: one bench event.
 * Server frames are unmasked; client frames must be masked (a zero mask is a valid mask).
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { BENCH_EVENT_NAME } from './protocol.ts';

export const SOCKET_IO_PATH = '/socket.io/?EIO=4&transport=websocket';

const EVENT_PREFIX = Buffer.from(`42["${BENCH_EVENT_NAME}",`);
const HEAD_END = Buffer.from('\r\n\r\n');

export function socketIoUpgradeRequest(port: number): string {
  return (
    `GET ${SOCKET_IO_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`
  );
}

/** A masked client text frame (payloads here are a few bytes). */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

const PONG = clientTextFrame('3');
const JOIN = clientTextFrame('40');

/**
 * Reads one connection's bytes: the 101 head, then WebSocket frames. `onEvent(payload)` is
 * called per bench event with the JSON text after `42`, when latency is wanted.
 */
export class SocketIoReader {
  count = 0;
  /** Set once the namespace join was acknowledged: the connection is ready for events. */
  headComplete = false;
  ended = false;
  error: string | undefined;

  private upgraded = false;
  private pending: Buffer | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly onEvent: ((json: string) => void) | undefined,
  ) {}

  feed(chunk: Buffer): void {
    // The shared read buffer is reused after this call: keep only copies.
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    if (!this.upgraded) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        this.pending = Buffer.from(buf);
        return;
      }
      const status = buf.toString('latin1', 0, Math.min(end, 64));
      if (!status.startsWith('HTTP/1.1 101')) {
        this.error = `expected 101, got: ${status.split('\r\n')[0]}`;
        this.ended = true;
        return;
      }
      this.upgraded = true;
      buf = buf.subarray(end + HEAD_END.length);
    }
    let at = 0;
    while (buf.length - at >= 2) {
      const opcode = buf[at]! & 0x0f;
      let length = buf[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (buf.length - at < header + length) break;
      this.frame(opcode, buf.subarray(at + header, at + header + length));
      at += header + length;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private frame(opcode: number, payload: Buffer): void {
    if (opcode === 0x8) {
      this.ended = true;
      return;
    }
    if (opcode !== 0x1 || payload.length === 0) return;
    if (payload.length > EVENT_PREFIX.length && payload.compare(EVENT_PREFIX, 0, EVENT_PREFIX.length, 0, EVENT_PREFIX.length) === 0) {
      this.count++;
      if (this.onEvent !== undefined) {
        // `42["b",{…}]`: the data object sits between the prefix and the closing bracket.
        this.onEvent(payload.toString('utf8', EVENT_PREFIX.length, payload.length - 1));
      }
      return;
    }
    const type = payload[0];
    if (type === 0x32 /* '2' ping */ && payload.length === 1) this.socket.write(PONG);
    else if (type === 0x30 /* '0' open */) this.socket.write(JOIN);
    else if (type === 0x34 && payload[1] === 0x30 /* '40' joined */) this.headComplete = true;
    else if (type === 0x34 && payload[1] === 0x34 /* '44' connect error */) {
      this.error = `namespace join refused: ${payload.toString()}`;
      this.ended = true;
    }
  }
}
