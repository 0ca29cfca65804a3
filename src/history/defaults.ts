/** Events kept per channel when no `maxEvents` is given (the in-memory and the Redis store). */
export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
/** Milliseconds an event is kept when no `maxAge` is given (the in-memory and the Redis store). */
export const DEFAULT_HISTORY_MAX_AGE = 5 * 60_000;
