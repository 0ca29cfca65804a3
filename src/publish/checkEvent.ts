import { GripstreamError, InvalidEventError } from '../errors.js';
import { assertFieldValue, serializeData } from '../sse/encode.js';
import { eventIdProblem } from '../sse/eventId.js';
import { describeValue } from '../describeValue.js';
import { jsonProblem } from './jsonProblem.js';
import type { ServerSentEvent } from '../types.js';

/** An event as it was checked: each field read once, the data already serialised. */
export interface CheckedEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Checks a whole batch before anything of it is written. Every failure, even one thrown by
 * the caller's own getters or Proxy, becomes an `InvalidEventError` naming the position.
 */
export function checkBatch(events: readonly ServerSentEvent[]): CheckedEvent[] {
  if (!Array.isArray(events)) {
    const iterable = typeof events !== 'string' && typeof (events as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] === 'function';
    throw new InvalidEventError(
      `events must be an array of { event, data } objects, got ${describeValue(events)}: ${iterable ? 'spread it into an array, [...events]' : "e.g. [{ event: 'message', data: 1 }]"}`,
    );
  }
  let length: number;
  try {
    length = events.length;
  } catch (err) {
    throw asInvalidEvent(err, '');
  }
  const checked: CheckedEvent[] = [];
  // An index loop, not map(): map() skips the holes of a sparse array.
  for (let i = 0; i < length; i++) {
    try {
      checked.push(checkEvent(events[i]));
    } catch (err) {
      throw asInvalidEvent(err, length > 1 ? `event ${i}: ` : '');
    }
  }
  return checked;
}

function checkEvent(input: ServerSentEvent | undefined): CheckedEvent {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidEventError(`an event must be an object like { event, data }, got ${describeValue(input)}: e.g. { event: 'message', data: { text: 'hi' } }`);
  }
  // Each field is read exactly once: a getter answering differently on a second read must
  // not slip past the check.
  const { event, id, data } = input;
  assertFieldValue('event', event);
  if (id !== undefined) {
    // Only ids a client can send back as Last-Event-ID (src/sse/eventId.ts).
    const problem = eventIdProblem(id);
    if (problem !== undefined) throw new InvalidEventError(`event id ${problem}, got ${describeValue(id)}`);
  }
  // Left out (undefined) means an event with empty data, as in @fanoutio/eventstream.
  const found = data === undefined ? undefined : jsonProblem(data);
  if (found !== undefined) throw new InvalidEventError(`event data cannot be sent as JSON: ${found.problem}; ${found.fix}`, { cause: found.cause });
  let serialised: string;
  try {
    serialised = serializeData(data);
  } catch (err) {
    throw new InvalidEventError(`event data cannot be sent as JSON: ${stringifyFailure(err)}`, { cause: err });
  }
  return { event, data: serialised, id };
}

function asInvalidEvent(err: unknown, where: string): GripstreamError {
  if (err instanceof InvalidEventError) return where === '' ? err : new InvalidEventError(where + err.message, { cause: err.cause });
  if (err instanceof GripstreamError) return err;
  return new InvalidEventError(`${where}the event cannot be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** JSON.stringify's own refusals, each with its own fix (the BigInt advice fits only BigInt). */
function stringifyFailure(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  if (err instanceof RangeError) {
    return `data is nested too deeply for JSON (${message}); a toJSON() that returns a new object holding itself does this too: flatten the data`;
  }
  if (/circular|cyclic/i.test(message)) {
    return `data refers to itself (${message}): send a copy without the cycle, e.g. only the ids of the linked objects`;
  }
  if (/bigint/i.test(message)) return `${message}; data must be JSON (no BigInt): convert it first, e.g. String(big)`;
  return `${message}; data must be JSON: convert it first`;
}
