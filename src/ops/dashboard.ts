import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { StreamRefusedError } from '../errors.js';
import { refusalHeaders, refusalOf, refusalOfError } from '../request/refusal.js';
import { encodeCheckedEvent } from '../sse/encode.js';
import { refuse } from '../transport/refusal.js';
import type { AuthorizeResult, StreamRequest, StreamResponse, NextFunction, StreamRefusal } from '../types.js';
import { DROP_REASONS, type Metrics } from '../telemetry/Metrics.js';
import { dashboardPage } from './dashboardPage.js';
import { dashboardOptionsOf } from '../config/dashboard.js';

/**
 * The channel list `authorize` receives for the operator page: one name that no stream route
 * gives, so an `authorize` can tell the page from a stream (`channels[0] === DASHBOARD_CHANNEL`).
 */
export const DASHBOARD_CHANNEL = '$gripstream-dashboard';

/** Options of `eventStream.dashboard()`. */
export interface DashboardOptions {
  /**
   * Who may open the page. By default the EventStream's own `authorize` decides, called with
   * `[DASHBOARD_CHANNEL]` as the channels; without either, anyone who reaches the route may.
   * Read as the streams read it: `false` is a 403, a refusal `{ status: 401 | 403, reason }`
   * (or a thrown `StreamRefusedError`) answers with its status and reason, and any answer
   * but `true` or a refusal is an error (a 500), never a yes.
   */
  authorize?: (req: StreamRequest) => AuthorizeResult | Promise<AuthorizeResult>;
  /** Milliseconds between two updates of the page: an integer from 100 to 60000 (default 1000). */
  interval?: number;
  /** How many channels "top channels" lists: an integer from 0 to 100 (default 10); 0 leaves channel names off the page. Unknown keys are refused. */
  topChannels?: number;
}

/** The handler `eventStream.dashboard()` returns: `node:http`, Express, Next.js pages (connect style). */
export type DashboardHandler = (req: StreamRequest, res: StreamResponse, next?: NextFunction) => Promise<void>;

/** What the page receives once per interval: counts and states, never event data. */
export interface DashboardSnapshot {
  /** When it was taken (ms since the epoch). */
  time: number;
  /** Open streams by transport (`http1`, `http2`, `fetch`). */
  streams: Record<string, number>;
  /** Streams handed to a GRIP proxy to hold since start. */
  heldStreams: number;
  /** Channel subscriptions of the open streams. */
  subscriptions: number;
  /** Channels with at least one subscriber. */
  channels: number;
  /** Events published since start. */
  eventsPublished: number;
  /** Events handed to open streams since start. */
  deliveries: number;
  /** Bytes of event-stream text written since start. */
  bytesWritten: number;
  /** Streams ended by the server, by reason. */
  drops: Record<string, number>;
  /** Resumes from a Last-Event-ID, exact or truncated. */
  resumes: {
    /** Resumed with nothing missing. */
    exact: number;
    /** Told `history-truncated` (events may be missing). */
    truncated: number;
  };
  /** Events replayed from history. */
  eventsReplayed: number;
  /** The in-memory history; null when history is kept elsewhere or off. */
  history: {
    /** Events kept, all channels together. */
    events: number;
    /** Bytes kept, as the byte bounds count them. */
    bytes: number;
    /** Events dropped for the bounds since start. */
    evicted: number;
  } | null;
  /** The Redis link as the health checks last saw it ('down' until its first check answered); null without Redis. */
  redis: {
    /** 'up' when its last health check answered. */
    state: 'up' | 'down';
    /** Redis calls that failed or timed out since start. */
    errors: number;
    /** Times the link connected again since start. */
    reconnects: number;
    /** Gaps in pub/sub delivery read back from the channel streams since start. */
    gapsFilled: number;
  } | null;
  /** GRIP publishing, and the proxies as the health checks last saw them; null without a GRIP proxy. */
  grip: {
    /** 'up' when every proxy answered its last health check. */
    state: 'up' | 'down';
    /** Publish requests sent to the proxies since start. */
    publishes: number;
    /** Publish requests that failed since start. */
    failures: number;
    /** Grip-Last recoveries answered since start. */
    recoveries: number;
  } | null;
  /** The channels with the most subscribers, most first (empty with `topChannels: 0`). */
  topChannels: Array<{
    /** The channel's name. */
    channel: string;
    /** Its subscribers on this instance. */
    subscribers: number;
  }>;
}

/** The figures of one moment, read from the metrics (the same the scrape handler reads). */
export function snapshotOf(metrics: Metrics, top: number): DashboardSnapshot {
  const views = metrics.views;
  const link = views.redisLink();
  const drops: Record<string, number> = {};
  for (const reason of DROP_REASONS) drops[reason] = metrics.drops[reason];
  return {
    time: Date.now(),
    streams: { ...metrics.streamsOpen },
    heldStreams: metrics.holdsAnswered,
    subscriptions: views.subscriptions(),
    channels: views.channels(),
    eventsPublished: metrics.eventsPublished,
    deliveries: metrics.deliveries,
    bytesWritten: metrics.bytesWritten,
    drops,
    resumes: { exact: metrics.resumesExact, truncated: metrics.resumesTruncated },
    eventsReplayed: metrics.eventsReplayed,
    history: views.history() ?? null,
    redis:
      link === undefined
        ? null
        : { state: link, errors: metrics.redisCommandErrors, reconnects: metrics.redisReconnects, gapsFilled: metrics.redisGapsFilled },
    grip: views.grip()
      ? { state: views.gripLink() ?? 'down', publishes: metrics.gripPublishes, failures: metrics.gripPublishFailures, recoveries: metrics.gripLastRecoveries }
      : null,
    topChannels: top > 0 ? views.topChannels(top) : [],
  };
}

/** The EventStream's own `authorize` as the page calls it (with `[DASHBOARD_CHANNEL]`). */
type StreamAuthorize = (req: StreamRequest, channels: readonly string[]) => unknown;

const NOT_AUTHORIZED: StreamRefusal = { status: 403, reason: 'not authorized for the dashboard' };

/**
 * What `authorize` said of the page, read as the streams read it: `true` opens it; `false`, a
 * refusal (`{ status: 401 | 403, reason }`) or a thrown `StreamRefusedError` refuses it with
 * that status; anything else is the app's mistake and throws (a 500), never a yes. A refusal
 * object is truthy: taken as a yes, it would open the operator page to whoever it refused.
 */
async function dashboardRefusal(authorize: (req: StreamRequest) => unknown, req: StreamRequest): Promise<StreamRefusal | undefined> {
  let answer: unknown;
  try {
    answer = await authorize(req);
  } catch (err) {
    if (err instanceof StreamRefusedError) return refusalOfError(err);
    throw err;
  }
  return answer === false ? NOT_AUTHORIZED : refusalOf(answer, 'authorize (for the dashboard)');
}

/**
 * GET → the page; GET with `?stream` (or `Accept: text/event-stream`) → its event stream of
 * snapshots. Both after `authorize`. `open` collects the streams' enders for close().
 */
export function dashboardHandler(
  metrics: Metrics,
  streamAuthorize: StreamAuthorize | undefined,
  options: DashboardOptions | undefined,
  open: Set<() => void>,
  isClosed: () => boolean,
): DashboardHandler {
  const settings = dashboardOptionsOf<NonNullable<DashboardOptions['authorize']>>(options);
  const interval = settings.interval;
  const top = settings.topChannels;
  const authorize =
    settings.authorize ?? (streamAuthorize === undefined ? undefined : (req: StreamRequest) => streamAuthorize(req, [DASHBOARD_CHANNEL]));
  return async (req, res, next) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'the dashboard is read with GET', { Allow: 'GET, HEAD' });
      const refusal = authorize === undefined ? undefined : await dashboardRefusal(authorize, req);
      if (refusal !== undefined) return plain(res, refusal.status, refusal.reason, refusalHeaders(refusal));
      if (isClosed()) return plain(res, 503, 'event stream is closed');
      if (wantsStream(req)) return streamSnapshots(metrics, top, interval, res, open);
      const nonce = randomBytes(16).toString('base64');
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        // Everything is inline; nothing may load from anywhere else.
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:`,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      });
      if (req.method === 'HEAD') res.end();
      else res.end(dashboardPage(nonce, interval));
    } catch (err) {
      if (next !== undefined) return next(err);
      plain(res, 500, 'internal error');
    }
  };
}

function wantsStream(req: StreamRequest): boolean {
  const query = (req.url ?? '').split('?')[1] ?? '';
  if (new URLSearchParams(query).has('stream')) return true;
  return (req.headers.accept ?? '').includes('text/event-stream');
}

function streamSnapshots(metrics: Metrics, top: number, interval: number, res: StreamResponse, open: Set<() => void>): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store, no-transform',
    'X-Accel-Buffering': 'no',
  });
  // Both kinds of response are Writables; only that side is used.
  const out = res as Writable;
  const send = (): void => {
    // JSON text holds no raw line break: one data line.
    out.write(encodeCheckedEvent('snapshot', JSON.stringify(snapshotOf(metrics, top)), undefined));
  };
  send();
  const timer = setInterval(send, interval);
  const end = (): void => {
    clearInterval(timer);
    open.delete(end);
    if (!res.writableEnded) res.end();
  };
  open.add(end);
  res.on('close', end);
}

function plain(res: StreamResponse, status: number, reason: string, headers?: Record<string, string>): void {
  refuse(res, { status, reason, ...(headers && { headers }) });
}
