/**
 * Counts complete Server-Sent Events with one given event name in a byte stream.
 *
 * An event counts when its terminating blank line arrives and its `event:` field named
 * the benchmark's event. That skips, without special cases, everything else libraries
 * send: `stream-open` and `keep-alive` events, `:` comment pings, `retry:` lines, `id:`
 * lines, and unnamed events.
 *
 * It is a byte-at-a-time state machine so that a line split across TCP reads or chunk
 * frames needs no buffering: only the `data:` value is ever materialised, and only when
 * the caller asks for it (latency needs the publish timestamp; throughput does not).
 *
 * Simplification: lines end with LF or CRLF (every library under test uses LF); a lone
 * CR as line terminator, which the spec also allows, is treated as ordinary whitespace.
 */

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

const EVENT_FIELD = Buffer.from('event');
const DATA_FIELD = Buffer.from('data');
const ID_FIELD = Buffer.from('id');

const enum State {
  LineStart,
  FieldName,
  ValueStart,
  Value,
  /** A line we do not care about (comment, id, retry, unknown field). */
  SkipLine,
}

const enum Field {
  Other,
  Event,
  Data,
  /** Only when ids are tracked: the `id:` line (the scale scenario resumes with it). */
  Id,
}

/** Receives each counted event; `data` is its last `data:` line when data is collected. */
export type MatchedEventHandler = (data: string | undefined) => void;

export class SseEventCounter {
  /** Complete events with the wanted name seen so far. */
  count = 0;
  /**
   * With `trackIds`: the stream's last-event-id buffer as an EventSource keeps it (set by
   * every `id:` line, whichever event it belongs to): what it would send as `Last-Event-ID`.
   */
  lastId: string | undefined;

  private readonly wanted: Buffer;
  private state = State.LineStart;
  private field = Field.Other;
  private fieldLength = 0;
  private mayBeEvent = true;
  private mayBeData = true;
  private mayBeId = true;
  private idText = '';
  /** Bytes of the current `event:` value matched so far, or -1 after a mismatch. */
  private nameMatched = 0;
  /** The pending event's `event:` field named the wanted event. */
  private eventIsWanted = false;
  private dataStart = 0;
  private dataText = '';
  private eventData: string | undefined;

  constructor(
    eventName: string,
    private readonly collectData: boolean,
    private readonly onMatch?: MatchedEventHandler,
    private readonly trackIds = false,
  ) {
    this.wanted = Buffer.from(eventName);
  }

  feed(buf: Buffer, start: number, end: number): void {
    // A value carried over from the previous piece goes on at this piece's first byte (not at
    // the buffer's: the piece may follow a chunk-size line in the same read).
    if (this.state === State.Value || this.state === State.ValueStart) this.dataStart = start;
    for (let i = start; i < end; i++) {
      const byte = buf[i]!;
      if (byte === CR) continue;
      switch (this.state) {
        case State.LineStart:
          if (byte === LF) this.dispatch();
          else if (byte === COLON) this.state = State.SkipLine;
          else this.startField(byte);
          break;
        case State.FieldName:
          if (byte === LF) this.state = State.LineStart; // a field with no value: ignore
          else if (byte === COLON) this.endFieldName(buf, i + 1);
          else this.extendField(byte);
          break;
        case State.ValueStart:
          // One optional space after the colon is not part of the value.
          this.state = State.Value;
          if (byte === SPACE) {
            this.dataStart = i + 1;
            break;
          }
          this.valueByte(buf, i, byte);
          break;
        case State.Value:
          this.valueByte(buf, i, byte);
          break;
        case State.SkipLine:
          if (byte === LF) this.state = State.LineStart;
          break;
      }
    }
    // A data value continuing into the next read: keep the part seen in this one.
    if (this.state === State.Value && this.field === Field.Data && this.collectData) {
      this.dataText += buf.toString('latin1', this.dataStart, end);
      this.dataStart = 0;
    } else if (this.state === State.Value && this.field === Field.Id) {
      this.idText += buf.toString('latin1', this.dataStart, end);
      this.dataStart = 0;
    } else if (this.state === State.ValueStart) {
      this.dataStart = 0;
    }
  }

  private startField(byte: number): void {
    this.state = State.FieldName;
    this.fieldLength = 0;
    this.mayBeEvent = true;
    this.mayBeData = true;
    this.mayBeId = this.trackIds;
    this.extendField(byte);
  }

  private extendField(byte: number): void {
    const at = this.fieldLength++;
    this.mayBeEvent &&= EVENT_FIELD[at] === byte;
    this.mayBeData &&= DATA_FIELD[at] === byte;
    this.mayBeId &&= ID_FIELD[at] === byte;
  }

  private endFieldName(buf: Buffer, valueStart: number): void {
    if (this.mayBeEvent && this.fieldLength === EVENT_FIELD.length) {
      this.field = Field.Event;
      this.nameMatched = 0;
    } else if (this.mayBeData && this.fieldLength === DATA_FIELD.length) {
      this.field = Field.Data;
      this.dataText = '';
    } else if (this.mayBeId && this.fieldLength === ID_FIELD.length) {
      this.field = Field.Id;
      this.idText = '';
    } else {
      this.state = State.SkipLine;
      return;
    }
    this.dataStart = Math.min(valueStart, buf.length);
    this.state = State.ValueStart;
  }

  private valueByte(buf: Buffer, i: number, byte: number): void {
    if (byte === LF) {
      this.endValue(buf, i);
      this.state = State.LineStart;
    } else if (this.field === Field.Event && this.nameMatched >= 0) {
      this.nameMatched = this.wanted[this.nameMatched] === byte ? this.nameMatched + 1 : -1;
    }
  }

  private endValue(buf: Buffer, lineEnd: number): void {
    if (this.field === Field.Event) {
      this.eventIsWanted = this.nameMatched === this.wanted.length;
    } else if (this.field === Field.Id) {
      // A CRLF's CR may sit at the end of the previous read: strip it from the whole value.
      const raw = this.idText + buf.toString('latin1', this.dataStart, lineEnd);
      const id = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      this.idText = '';
      // The spec ignores an id containing NUL.
      if (!id.includes('\0')) this.lastId = id;
    } else if (this.collectData) {
      // Strip a CR of a CRLF ending; CR bytes were skipped by the scanner, not the slice.
      let end = lineEnd;
      if (end > this.dataStart && buf[end - 1] === CR) end--;
      this.eventData = this.dataText + buf.toString('latin1', this.dataStart, end);
      this.dataText = '';
    }
  }

  /** A blank line: the pending event is complete. */
  private dispatch(): void {
    if (this.eventIsWanted) {
      this.count++;
      this.onMatch?.(this.eventData);
    }
    this.eventIsWanted = false;
    this.eventData = undefined;
  }
}
