import { describeValue } from '../describeValue.js';
import { InvalidEventError } from '../errors.js';

/**
 * Fields of one SSE frame, with `data` already serialised to text.
 * Framing follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export interface SseFields {
  /** The `event:` field: the name `addEventListener` listens for. */
  event?: string;
  /** The `data:` text, split into one `data:` line per line. */
  data?: string;
  /** The `id:` field: what the browser sends back as `Last-Event-ID`. */
  id?: string;
  /** The `retry:` field: the reconnection delay in ms. */
  retry?: number;
}

// A field value holding any of these would end the field early (CR, LF) or, for `id`,
// make the browser ignore it (NUL): reject instead of corrupting the stream.
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;
const LINE_BREAK = /\r\n|\r|\n/;

/** What an `id` line starts with, before the id itself. */
export const ID_LINE_START = 'id: ';

/** What ends an event: the end of its last line, then the blank line that dispatches it. */
export const EVENT_END = '\n\n';

/** Throws `InvalidEventError` when `value` cannot be one SSE field value. */
export function assertFieldValue(field: 'event' | 'id', value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidEventError(`SSE ${field} must be a string, got ${describeValue(value)}: e.g. { ${field}: 'message' }`);
  }
  if (FORBIDDEN_IN_FIELD.test(value)) {
    throw new InvalidEventError(
      `SSE ${field} must not contain CR, LF or NUL, got ${describeValue(value)}: a line break would end the field; put multi-line text in data`,
    );
  }
}

function assertRetry(retry: number): void {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new InvalidEventError(`SSE retry must be a non-negative integer of milliseconds, got ${describeValue(retry)}`);
  }
}

/**
 * Encodes one event. Data is split on every line break the spec knows (CRLF, CR, LF) into
 * `data:` lines, so the client joins it back with LF. Always emits at least one `data:` line,
 * because a frame without data is never dispatched by EventSource.
 */
export function encodeEvent(fields: SseFields): string {
  let frame = '';
  if (fields.retry !== undefined) {
    assertRetry(fields.retry);
    frame += `retry: ${fields.retry}\n`;
  }
  if (fields.id !== undefined) {
    assertFieldValue('id', fields.id);
    frame += `id: ${fields.id}\n`;
  }
  if (fields.event !== undefined && fields.event !== '') {
    assertFieldValue('event', fields.event);
    frame += `event: ${fields.event}\n`;
  }
  return frame + encodeData(fields.data ?? '') + '\n';
}

/**
 * The same frame as `encodeEvent`, for fields already checked: a name and an id that went
 * through the publish checks (src/publish/checkEvent.ts), or an id the built-in store made
 * (digits). Checking them again costs a regular expression per field on every publish.
 */
export function encodeCheckedEvent(event: string, data: string, id: string | undefined): string {
  const head = id === undefined ? '' : `${ID_LINE_START}${id}\n`;
  return (event === '' ? head : `${head}event: ${event}\n`) + encodeData(data) + '\n';
}

/**
 * For an event whose data is one line (`isOneLine`): what follows the id's value up to the
 * data. It ends the `id` line, adds the `event` line of a named event and starts the `data`
 * line, so that `ID_LINE_START` + id + this + data + `EVENT_END` is the frame
 * `encodeCheckedEvent(event, data, id)` makes. For a caller that writes the pieces itself
 * (bus/Frame.ts writes a position's digits straight into its buffer).
 */
export function fieldsBetweenIdAndData(event: string): string {
  return event === '' ? '\ndata: ' : `\nevent: ${event}\ndata: `;
}

/** Whether `data` goes out as one `data:` line: it holds none of the line breaks the spec knows. */
export function isOneLine(data: string): boolean {
  return data.indexOf('\n') === -1 && data.indexOf('\r') === -1;
}

function encodeData(data: string): string {
  if (isOneLine(data)) return `data: ${data}\n`;
  let lines = '';
  for (const line of data.split(LINE_BREAK)) lines += `data: ${line}\n`;
  return lines;
}

/** A comment frame: ignored by clients, keeps proxies and load balancers from timing out. */
export function encodeComment(text: string): string {
  if (FORBIDDEN_IN_FIELD.test(text)) {
    throw new InvalidEventError('SSE comment must not contain CR, LF or NUL');
  }
  return `: ${text}\n\n`;
}

/** A frame carrying only `retry`, sent first when a reconnection delay is configured. */
export function encodeRetry(retry: number): string {
  assertRetry(retry);
  return `retry: ${retry}\n\n`;
}

/**
 * JSON-encodes event data as `@fanoutio/eventstream` does. `undefined` (which JSON cannot
 * represent) becomes empty data rather than the text "undefined".
 */
export function serializeData(data: unknown): string {
  return data === undefined ? '' : (JSON.stringify(data) ?? '');
}
