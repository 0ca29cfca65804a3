import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import timers from 'node:timers';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src') + path.sep;

type AnyFn = (...args: never[]) => unknown;

/**
 * Pass-through instrumentation of the timer functions (global and `node:timers`): every timer
 * still works exactly as before; the tracker only remembers which ones were created from a
 * file under src/ and are still pending (a setTimeout not yet fired, a setInterval not cleared).
 * Unlike `process.getActiveResourcesInfo()`, this also sees unref'd timers.
 */
export class LibraryTimers {
  /** Pending timers created by the library. */
  readonly live = new Set<NodeJS.Timeout>();
  /** Every timer the library created while tracking, with its kind. */
  readonly created: Array<{ kind: 'timeout' | 'interval'; ms: number | undefined }> = [];
  private readonly restores: Array<() => void> = [];

  static start(): LibraryTimers {
    const tracker = new LibraryTimers();
    tracker.install();
    return tracker;
  }

  stop(): void {
    for (const restore of this.restores.splice(0).reverse()) restore();
    syncBuiltinESMExports();
  }

  private install(): void {
    const targets = [globalThis as unknown as Record<string, AnyFn>, timers as unknown as Record<string, AnyFn>];
    for (const target of targets) {
      const originals = {
        setTimeout: target.setTimeout!,
        setInterval: target.setInterval!,
        clearTimeout: target.clearTimeout!,
        clearInterval: target.clearInterval!,
      };
      this.restores.push(() => Object.assign(target, originals));
      const fromLibrary = (): boolean => (new Error().stack ?? '').split('\n').slice(2).some((line) => line.includes(SRC));
      const tracker = this;
      target.setTimeout = function (callback: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) {
        if (!fromLibrary()) return (originals.setTimeout as Function)(callback, ms, ...rest);
        const timer: NodeJS.Timeout = (originals.setTimeout as Function)(
          (...a: unknown[]) => {
            tracker.live.delete(timer);
            callback(...a);
          },
          ms,
          ...rest,
        );
        tracker.live.add(timer);
        tracker.created.push({ kind: 'timeout', ms });
        return timer;
      } as unknown as AnyFn;
      target.setInterval = function (callback: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) {
        const timer: NodeJS.Timeout = (originals.setInterval as Function)(callback, ms, ...rest);
        if (fromLibrary()) {
          tracker.live.add(timer);
          tracker.created.push({ kind: 'interval', ms });
        }
        return timer;
      } as unknown as AnyFn;
      const clear = (original: AnyFn) =>
        function (timer: unknown) {
          for (const t of tracker.live) {
            if (t === timer || (typeof timer === 'number' && Number(t) === timer)) tracker.live.delete(t);
          }
          return (original as Function)(timer);
        } as unknown as AnyFn;
      target.clearTimeout = clear(originals.clearTimeout);
      target.clearInterval = clear(originals.clearInterval);
    }
    syncBuiltinESMExports();
  }
}

/** Ref'd 'Timeout' resources of the process, as `process.getActiveResourcesInfo()` reports them. */
export function activeTimeoutCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
