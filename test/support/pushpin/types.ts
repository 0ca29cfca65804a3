/** What a test passes to startPushpin() and what it gets back. */

export interface PushpinOptions {
  /** Single origin: the route is `* 127.0.0.1:<originPort>`. Ignored when `origins` is non-empty. */
  originPort: number;
  /**
   * Several origin ports. Pushpin's routes syntax takes several targets on one line separated by
   * whitespace (`* 127.0.0.1:7000 127.0.0.1:7001`); a comma would start target *options* instead.
   */
  origins?: number[];
  /** [proxy] sig_key, default 'changeme'. */
  sigKey?: string;
  /** [proxy] sig_iss, default 'pushpin'. */
  sigIss?: string;
  /** [handler] message_wait in ms, default 5000. */
  messageWait?: number;
  /**
   * [handler] message_rate (messages per second sent to clients, default 2500) and message_hwm
   * (rate-limited messages queued before dropping, default 25000): Debian's throttle, which the
   * benchmark lifts.
   */
  messageRate?: number;
  messageHwm?: number;
  /** Runner log_level, default 2 (3 = debug). */
  logLevel?: number;
  /** Client-facing port; pass the old one to restart on the same ports. Default: a free port. */
  httpPort?: number;
  /** Control/publish port; default: a free port. */
  publishPort?: number;
}

export interface PushpinInstance {
  /** Client-facing port (condure). */
  httpPort: number;
  /** Control/publish HTTP API port (pushpin-handler). */
  publishPort: number;
  /** `http://127.0.0.1:<publishPort>/` */
  controlUri: string;
  /** `http://127.0.0.1:<publishPort>/?iss=<sigIss>&key=<sigKey>` (values URI-encoded), for parseGripUri / new Publisher(). */
  gripUrl: string;
  workdir: string;
  /** PID of the `pushpin` runner. */
  pid: number;
  /** Merged log so far (kept in memory after stop(), when the workdir is removed). */
  log(): string;
  /** PIDs of condure / zurl / pushpin-proxy / pushpin-handler as recorded at start (extra, for fault tests). */
  childPids(): number[];
  /**
   * Retries `GET <path>` through httpPort until the answer is not a proxy-side failure
   * (502/503/504, or 500 with an "... unavailable" body), i.e. Pushpin reaches the origin
   * and its handler accepts held requests. Bounded by timeoutMs (default 5000).
   */
  waitForOrigin(path?: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM the runner, await its exit (bounded), then kill any children left from rundir/*.pid. Idempotent. */
  stop(): Promise<void>;
  /** Abrupt: SIGKILL the runner and all its children (bounded). Idempotent. */
  kill(): Promise<void>;
}
