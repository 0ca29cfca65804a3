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
  | 'ERR_CLOSED';

/**
 * The base class of every gripstream error. Branch on `code`, stable across versions, never
 * on the message, which says in words what was wrong, the value received, what is accepted and
 * the fix.
 */
export class GripstreamError extends Error {
  // Each subclass narrows this to its own literal with a `declare`d field (nothing emitted), so
  // `err instanceof HistoryError` gives `err.code: 'ERR_HISTORY'`.
  /** Which kind of error this is; each subclass has its own. */
  readonly code: GripstreamErrorCode;

  /**
   * @param code The error's stable code.
   * @param message What was wrong, the value received, what is accepted and the fix.
   * @param options `cause`: the underlying error, kept for debugging.
   */
  constructor(code: GripstreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An event whose `event`, `id` or `retry` cannot be framed as SSE without corrupting the stream. */
export class InvalidEventError extends GripstreamError {
  /** Always `'ERR_INVALID_EVENT'`. */
  declare readonly code: 'ERR_INVALID_EVENT';

  constructor(message: string) {
    super('ERR_INVALID_EVENT', message);
  }
}

/** A channel name that is empty, too long, or holds a character GRIP headers cannot carry. */
export class InvalidChannelError extends GripstreamError {
  /** Always `'ERR_INVALID_CHANNEL'`. */
  declare readonly code: 'ERR_INVALID_CHANNEL';

  constructor(message: string) {
    super('ERR_INVALID_CHANNEL', message);
  }
}

/** A constructor option that cannot work; thrown from `new EventStream()`. */
export class InvalidConfigError extends GripstreamError {
  /** Always `'ERR_INVALID_CONFIG'`. */
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
  /** Always `'ERR_GRIP_PUBLISH'`. */
  declare readonly code: 'ERR_GRIP_PUBLISH';

  /** The HTTP status the proxy answered with; `undefined` when it did not answer. */
  readonly statusCode: number | undefined;
  /**
   * True when history had kept the batch before the proxy failed: the events are published
   * (direct clients have them, resuming clients get them); do not publish them again.
   */
  readonly committed: boolean;

  constructor(message: string, statusCode: number | undefined, cause: unknown, committed = false) {
    super('ERR_GRIP_PUBLISH', message, { cause });
    this.statusCode = statusCode;
    this.committed = committed;
  }
}

/** The history store failed (for example a shared store is unreachable). */
export class HistoryError extends GripstreamError {
  /** Always `'ERR_HISTORY'`. */
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
  /** Always `'ERR_REDIS_TIMEOUT'`. */
  declare readonly code: 'ERR_REDIS_TIMEOUT';

  /** The `commandTimeout` that ran out, in ms. */
  readonly timeoutMs: number;

  /**
   * @param operation What was asked of Redis (e.g. `publish`).
   * @param timeoutMs The `commandTimeout` that ran out.
   * @param address `host:port` of the Redis that did not answer, when known.
   */
  constructor(operation: string, timeoutMs: number, address?: string) {
    const where = address === undefined ? 'Redis' : `Redis at ${address}`;
    super(
      'ERR_REDIS_TIMEOUT',
      `${where} did not answer ${operation} within ${timeoutMs} ms (commandTimeout): it is frozen, overloaded or unreachable; the call took no effect, so it is safe to retry`,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** A publish or a new connection after `eventStream.close()`. */
export class ClosedError extends GripstreamError {
  /** Always `'ERR_CLOSED'`. */
  declare readonly code: 'ERR_CLOSED';

  constructor() {
    super('ERR_CLOSED', 'this EventStream has been closed');
  }
}
