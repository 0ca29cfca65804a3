/**
 * Looked up for a Last-Event-ID outside the id rule (or a position not known): no event id can
 * hold a NUL (src/sse/eventId.ts), so it is unknown to every store, and the resume is answered
 * as truncated.
 */
export const NEVER_AN_ID = '\u0000';
