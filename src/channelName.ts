import { describeValue, quote } from './describeValue.js';
import { InvalidChannelError } from './errors.js';
import { isWellFormed } from './sse/eventId.js';
import { utf8Length } from './sse/utf8.js';

/** GRIP carries channel names in headers; 255 bytes keeps them well inside header limits. */
export const MAX_CHANNEL_BYTES = 255;

// Control characters (C0, DEL) cannot travel in an HTTP header (`Grip-Channel`: Node refuses
// DEL, CR, LF, NUL; trimming would eat a TAB); `,` and `;` are the separators of `Grip-Channel`,
// and a `"` opens a quoted string there, inside which the proxy reads our separators as text
// (two channels of one hold would merge into one).
export const FORBIDDEN_IN_CHANNEL = /[\u0000-\u001f\u007f,;"]/;

/**
 * The one rule for channel names, applied to routes and publishes alike: surrounding
 * spaces are dropped, and the rest must be non-empty, short, and header-safe.
 */
export function normalizeChannel(name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidChannelError(`channel name must be a string, got ${describeValue(name)}`);
  }
  // Checked before trimming: a name of control characters must not trim down to another name.
  if (FORBIDDEN_IN_CHANNEL.test(name)) {
    throw new InvalidChannelError(
      `channel name ${quote(name)} contains CR, LF, NUL, ',', ';' or '"' (or another control character)`,
    );
  }
  const trimmed = name.trim();
  if (trimmed === '') throw new InvalidChannelError(`channel name is empty, got ${describeValue(name)}: a channel needs at least one character besides spaces`);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short names need no count (every publish asks).
  if (trimmed.length * 3 > MAX_CHANNEL_BYTES && utf8Length(trimmed) > MAX_CHANNEL_BYTES) {
    throw new InvalidChannelError(`channel name is longer than ${MAX_CHANNEL_BYTES} bytes, got ${utf8Length(trimmed)} bytes: shorten it (a hash or an id instead of the text)`);
  }
  // GRIP headers carry names as UTF-8, which a lone surrogate cannot survive.
  if (!isWellFormed(trimmed)) {
    throw new InvalidChannelError(`channel name ${quote(trimmed)} is not well-formed Unicode`);
  }
  return trimmed;
}
