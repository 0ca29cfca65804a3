/**
 * Every error gripstream throws or rejects with is a `GripstreamError` carrying a stable
 * `code`, so callers can branch on `err.code` instead of parsing messages.
 */
export type GripstreamErrorCode =
  | 'ERR_INVALID_EVENT'
  | 'ERR_INVALID_CHANNEL'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_GRIP_PUBLISH'
  | 'ERR_HISTORY'
  | 'ERR_REDIS_TIMEOUT'
  | 'ERR_CLOSED'
  | 'ERR_UNREACHABLE';

export class GripstreamError extends Error {
  // Each subclass narrows this to its own literal with a `declare`d field (nothing emitted), so
  // `err instanceof HistoryError` gives `err.code: 'ERR_HISTORY'`.
  readonly code: GripstreamErrorCode;

  constructor(code: GripstreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An event whose `event`, `id` or `retry` cannot be framed as SSE without corrupting the stream. */
export class InvalidEventError extends GripstreamError {
  declare readonly code: 'ERR_INVALID_EVENT';

  constructor(message: string) {
    super('ERR_INVALID_EVENT', message);
  }
}

/** A channel name that is empty, too long, or holds a character GRIP headers cannot carry. */
export class InvalidChannelError extends GripstreamError {
  declare readonly code: 'ERR_INVALID_CHANNEL';

  constructor(message: string) {
    super('ERR_INVALID_CHANNEL', message);
  }
}

/** A constructor option that cannot work; thrown from `new EventStream()`. */
export class InvalidConfigError extends GripstreamError {
  declare readonly code: 'ERR_INVALID_CONFIG';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_CONFIG', message, options);
  }
}

/**
 * A GRIP proxy refused or could not be reached; `cause` holds the proxy's status and body.
 * `committed` tells whether the events were kept in history (and so sent to direct clients)
 * before the proxy failed: then they are published and must not be published again; the
 * proxy's clients get them when they resume (in reliable mode, the proxy fetches them itself).
 * Without history nothing of a refused publish reached anyone (`committed: false`).
 */
export class GripPublishError extends GripstreamError {
  declare readonly code: 'ERR_GRIP_PUBLISH';

  readonly statusCode: number | undefined;
  readonly committed: boolean;

  constructor(message: string, statusCode: number | undefined, cause: unknown, committed = false) {
    super('ERR_GRIP_PUBLISH', message, { cause });
    this.statusCode = statusCode;
    this.committed = committed;
  }
}

/** The history store failed (for example a shared store is unreachable). */
export class HistoryError extends GripstreamError {
  declare readonly code: 'ERR_HISTORY';

  constructor(message: string, cause: unknown) {
    super('ERR_HISTORY', message, { cause });
  }
}

/**
 * Redis did not answer within the configured `commandTimeout` (frozen, overloaded, or
 * unreachable). A publish rejected with it took no effect: Redis refuses the call if it
 * reaches it later.
 */
export class RedisTimeoutError extends GripstreamError {
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number) {
    super('ERR_REDIS_TIMEOUT', `Redis did not answer ${operation} within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A publish or a new connection after `eventStream.close()`. */
export class ClosedError extends GripstreamError {
  declare readonly code: 'ERR_CLOSED';

  constructor() {
    super('ERR_CLOSED', 'this EventStream has been closed');
  }
}

/**
 * `eventStream.ready()` gave up: a dependency (Redis, a GRIP proxy) did not answer within the
 * time allowed. `address` names it (credentials removed); `cause` is its last failure.
 */
export class UnreachableError extends GripstreamError {
  declare readonly code: 'ERR_UNREACHABLE';

  /** `'redis'` or `'grip'`. */
  readonly dependency: 'redis' | 'grip';
  /** Where it was looked for, e.g. `redis://127.0.0.1:6379` or a GRIP publish URL. */
  readonly address: string;

  /** Made by `ready()`: which dependency, where, how long it was waited for, and its last failure. */
  constructor(dependency: 'redis' | 'grip', address: string, waitedMs: number, cause: unknown) {
    const what = dependency === 'redis' ? 'Redis' : 'the GRIP proxy';
    const reason = cause instanceof Error ? cause.message : cause === undefined ? 'no answer yet' : String(cause);
    super(
      'ERR_UNREACHABLE',
      `${what} at ${address} did not answer within ${waitedMs} ms (${reason}); check that it runs and that this address is right, or give ready() a longer { timeout }`,
      { cause },
    );
    this.dependency = dependency;
    this.address = address;
  }
}
