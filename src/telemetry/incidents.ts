import { callApp, ignoreRejection } from '../appCallback.js';
import type { Incident, IncidentHook, IncidentKind, IncidentLevel, Logger } from '../types.js';

// The incident option types are public option types, defined in types.ts where config/ reads them.
export type { Incident, IncidentHook, IncidentKind, IncidentOptions } from '../types.js';

/** An occurrence: how to say it, given how many were gathered. */
interface Occurrence {
  level: IncidentLevel;
  line: (count: number, windowSeconds: number) => string;
  address?: string;
  error?: unknown;
}

interface Burst {
  first: Occurrence;
  count: number;
  timer: NodeJS.Timeout | undefined;
  /** True while the quiet period after a report runs: occurrences are only counted. */
  quiet: boolean;
}

/**
 * Occurrences of one kind within this long of the first are one report: a stalled network
 * that drops 500 clients in the same second is one line, not 500.
 */
export const GATHER_MS = 1000;
/**
 * After a report, further occurrences of that kind are counted for this long and reported as
 * one summary line: a failure that goes on writes about two lines a minute, never a flood.
 */
export const QUIET_MS = 30_000;

/**
 * Turns failures into lines and hook calls that say what an operator needs, at most one
 * per incident: state changes once each, occurrences gathered per burst and per quiet period.
 */
export class Incidents {
  private readonly bursts = new Map<IncidentKind, Burst>();
  private closed = false;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly hook: IncidentHook | undefined,
  ) {}

  /** A state change (Redis / GRIP proxy down or back): reported now. */
  change(kind: IncidentKind, level: IncidentLevel, message: string, details: { address?: string; error?: unknown } = {}): void {
    this.report({ kind, level, message, count: 1, ...details, at: new Date() });
  }

  /** One occurrence of `kind`; reported with the others of its burst (see GATHER_MS, QUIET_MS). */
  occurred(kind: IncidentKind, occurrence: Occurrence): void {
    if (this.closed) return;
    const burst = this.bursts.get(kind);
    if (burst !== undefined) {
      burst.count++;
      return;
    }
    const fresh: Burst = { first: occurrence, count: 1, timer: undefined, quiet: false };
    this.bursts.set(kind, fresh);
    fresh.timer = setTimeout(() => this.endOf(kind, fresh), GATHER_MS);
    fresh.timer.unref();
  }

  /** A client left more than `maxBufferedBytes` unread and was disconnected. */
  clientDropped(maxBufferedBytes: number): void {
    this.occurred('client-dropped', {
      level: 'warn',
      line: (count, seconds) =>
        `gripstream: ${plural(count, 'client was', 'clients were')} dropped in ${seconds} s for leaving more than ${maxBufferedBytes} bytes unread (maxBufferedBytes); they reconnect and resume`,
    });
  }

  /** The app's `onDisconnect` threw (the stream was cleaned up anyway). */
  onDisconnectThrew(err: unknown): void {
    this.occurred('on-disconnect-threw', {
      level: 'error',
      error: err,
      line: (count, seconds) =>
        `gripstream: your onDisconnect hook threw ${count === 1 ? 'once' : `${count} times`} in ${seconds} s (first: ${reasonOf(err)}); the streams were cleaned up anyway`,
    });
  }

  /**
   * Reading history failed: a resume, a GRIP hold's replay or a proxy's recovery could not be
   * served. `during` says what was being done and what the clients got instead.
   */
  historyReadFailed(err: unknown, during: string): void {
    this.occurred('history-read-failed', {
      level: 'error',
      error: err,
      line: (count, seconds) =>
        `gripstream: ${plural(count, 'history read', 'history reads')} failed in ${seconds} s, ${during} (first: ${reasonOf(err)})`,
    });
  }

  /** A GRIP proxy refused a publish or did not answer. */
  gripPublishFailed(err: unknown): void {
    this.occurred('grip-publish-failed', {
      level: 'error',
      error: err,
      line: (count, seconds) =>
        `gripstream: ${plural(count, 'GRIP publish', 'GRIP publishes')} failed in ${seconds} s (first: ${reasonOf(err)}); the publish calls rejected with GripPublishError`,
    });
  }

  /** Reports what was gathered and stops the timers (the EventStream is closing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [kind, burst] of this.bursts) {
      clearTimeout(burst.timer);
      if (burst.count > 0) this.flush(kind, burst);
    }
    this.bursts.clear();
  }

  private endOf(kind: IncidentKind, burst: Burst): void {
    if (burst.count === 0) {
      // A quiet period with nothing in it: the next occurrence is news again.
      this.bursts.delete(kind);
      return;
    }
    this.flush(kind, burst);
    burst.quiet = true;
    burst.timer = setTimeout(() => this.endOf(kind, burst), QUIET_MS);
    burst.timer.unref();
  }

  private flush(kind: IncidentKind, burst: Burst): void {
    const { first, count } = burst;
    const seconds = Math.round((burst.quiet ? QUIET_MS : GATHER_MS) / 1000);
    burst.count = 0;
    this.report({
      kind,
      level: first.level,
      message: first.line(count, seconds),
      count,
      ...(first.address === undefined ? {} : { address: first.address }),
      ...(first.error === undefined ? {} : { error: first.error }),
      at: new Date(),
    });
  }

  private report(incident: Incident): void {
    const { logger, hook } = this;
    // A logger or hook that throws or rejects must not take a publish or a stream down with it.
    if (logger !== undefined) callApp(() => logger[incident.level](incident.message), ignoreRejection);
    if (hook !== undefined) callApp(() => hook(incident), ignoreRejection);
  }
}

/** `3 clients were` / `1 client was`: lines read as sentences. */
export function plural(count: number, one: string, many: string): string {
  return count === 1 ? `1 ${one}` : `${count} ${many}`;
}

/** An error's message on one line, for the end of an incident line. */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/[\r\n]+/g, ' ');
}
