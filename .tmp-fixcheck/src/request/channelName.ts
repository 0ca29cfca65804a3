import { InvalidChannelError } from '../errors.js';

/** GRIP carries channel names in headers; 255 bytes keeps them well inside header limits. */
export const MAX_CHANNEL_BYTES = 255;

// CR, LF and NUL break HTTP headers; `,` and `;` are the separators of `Grip-Channel`.
const FORBIDDEN_IN_CHANNEL = /[\r\n\0,;]/;

/**
 * The one rule for channel names, applied to routes and publishes alike: surrounding
 * white space is dropped, and the rest must be non-empty, short, and header-safe.
 */
export function normalizeChannel(name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidChannelError(`channel name must be a string, got ${typeof name}`);
  }
  const trimmed = name.trim();
  if (trimmed === '') throw new InvalidChannelError('channel name is empty');
  if (Buffer.byteLength(trimmed) > MAX_CHANNEL_BYTES) {
    throw new InvalidChannelError(`channel name is longer than ${MAX_CHANNEL_BYTES} bytes`);
  }
  if (FORBIDDEN_IN_CHANNEL.test(trimmed)) {
    throw new InvalidChannelError(
      `channel name ${JSON.stringify(trimmed)} contains CR, LF, NUL, ',' or ';'`,
    );
  }
  return trimmed;
}
