/**
 * The one rule for event ids, applied where an id is published and where it comes back as
 * Last-Event-ID: an id is accepted exactly when a browser can send it back unchanged.
 *
 * - No control characters (C0, DEL): CR, LF and NUL would break the SSE frame or the
 *   header; Node refuses the others in a header value (400), and EventSource then gives up.
 * - No leading or trailing space or tab: HTTP trims them from header values.
 * - Well-formed UTF-16 (no lone surrogate): browsers send the id as UTF-8, which a lone
 *   surrogate cannot survive.
 * - Not empty: an empty `id:` resets the browser's last id, so the next reconnect would not
 *   resume at all.
 * - At most MAX_EVENT_ID_LENGTH code units.
 */
export const MAX_EVENT_ID_LENGTH = 2048;

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const SURROUNDING_WHITE_SPACE = /^[ \t]|[ \t]$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `id` cannot be an event id, or undefined when it can. */
export function eventIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string (write id: String(value), or leave id out)';
  if (id === '') return 'must not be empty (an empty id resets the browser\'s last event id)';
  if (id.length > MAX_EVENT_ID_LENGTH) return `must be at most ${MAX_EVENT_ID_LENGTH} UTF-16 code units (this one has ${id.length}): shorten it, e.g. a hash or a database id instead of the text`;
  if (CONTROL_CHARACTER.test(id)) return 'must not contain control characters (a browser cannot send them back)';
  if (SURROUNDING_WHITE_SPACE.test(id)) return 'must not start or end with a space or tab (HTTP trims them)';
  if (!isWellFormed(id)) return 'must be well-formed Unicode (no lone surrogate)';
  return undefined;
}

export function isValidEventId(id: unknown): id is string {
  return eventIdProblem(id) === undefined;
}

/** No lone surrogate: the text survives a trip through UTF-8 unchanged. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Where a client says it stands: no position, an id it was given, or a value never handed out. */
export type LastEventId =
  | { kind: 'none' }
  | { kind: 'id'; value: string }
  | { kind: 'invalid' };
