/**
 * A write script's first argument is a deadline in Redis's clock (RedisLink.write adds it):
 * past it the script refuses with an error starting with this word, so that a call we gave up
 * on cannot take effect later (see RedisLink). RedisLink reads the refusal as a timeout.
 */
export const LATE_ERROR = 'GRIPSTREAM_LATE';

/** True when `err` is a write script's refusal for its deadline. */
export function isLateRefusal(err: unknown): boolean {
  return String((err as Error | undefined)?.message).startsWith(LATE_ERROR);
}
