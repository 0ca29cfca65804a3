
/** The statuses a refusal of a stream may carry: 401 (log in again) or 403 (never, as this user). */
export type RefusalStatus = 401 | 403;

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
  | 'ERR_STREAM_REFUSED'
  | 'ERR_UNREACHABLE'
  | TokenErrorCode;

/**
 * Why a token was refused. `ERR_TOKEN_MISSING`, `_CONFLICT` and `_SCOPE` are about the request
 * (no token, two different ones, channels it does not grant); the others about the token itself;
 * `ERR_TOKEN_KEYS_UNAVAILABLE` is the server's (its JWKS URL did not answer).
 */
export type TokenErrorCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_TOKEN_CONFLICT'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ALGORITHM'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_CLAIM'
  | 'ERR_TOKEN_SCOPE'
  | 'ERR_TOKEN_KEYS_UNAVAILABLE';

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

  /** @param options `cause`: what the caller's getter, Proxy or toJSON() threw, when that is why. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_EVENT', message, options);
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

/**
 * A subscription or publish token was refused. `status` is the HTTP answer it gets (401 for a
 * token to replace, 403 for one that does not grant the channels, 400 for a request carrying
 * two different tokens, 503 when the JWKS URL is down); the message never repeats the token.
 */
export class TokenError extends GripstreamError {
  declare readonly code: TokenErrorCode;

  /** The HTTP status a request refused with this error gets. */
  readonly status: 400 | 401 | 403 | 503;

  constructor(code: TokenErrorCode, status: 400 | 401 | 403 | 503, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/**
 * Thrown by a channel function or `authorize` to refuse a stream with a status and a reason:
 * `throw new StreamRefusedError(401, 'log in again')`. The route answers it like a refusal
 * returned by `authorize` (one-line body, `onRefused`), never as a server error.
 */
export class StreamRefusedError extends GripstreamError {
  declare readonly code: 'ERR_STREAM_REFUSED';

  /** 401 (the client may succeed after authenticating) or 403 (it never may). */
  readonly status: RefusalStatus;
  /** The one line the client reads; it must only speak of the channels the client asked for. */
  readonly reason: string;
  /** The `WWW-Authenticate` challenge of a 401 (default `Bearer`). */
  readonly wwwAuthenticate: string | undefined;

  constructor(status: RefusalStatus, reason: string, options?: { wwwAuthenticate?: string }) {
    if (status !== 401 && status !== 403) {
      throw new InvalidConfigError(
        `StreamRefusedError status must be 401 or 403, got ${String(status)}: use 401 when logging in (again) may help, 403 when it never will`,
      );
    }
    super('ERR_STREAM_REFUSED', `stream refused (${status}): ${reason}`);
    this.status = status;
    this.reason = reason;
    this.wwwAuthenticate = options?.wwwAuthenticate;
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
