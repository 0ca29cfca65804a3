/**
 * Bounded waiting. Timers here are captured at load so tests that instrument the global
 * timer functions (see timers.ts) never see the harness's own timers.
 */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

export { realSetTimeout, realClearTimeout };

/** Rejects with "timed out after Nms waiting for <what>" unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = realSetTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        realClearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        realClearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Polls `condition` until it holds. Only for state that announces no event (e.g. `stats()`);
 * everything else is awaited through events.
 */
export async function pollUntil(condition: () => boolean, ms: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, everyMs));
  }
}

/** Lets pending I/O callbacks run once (a yield, not a delay). */
export function turn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/** Observes for a fixed window: used only to check that something does NOT happen. */
export function observeFor(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/**
 * A set of waiters re-checked whenever the owner says something changed; each waiter is
 * bounded by its own timeout.
 */
export class Waiters {
  private readonly waiting = new Set<() => boolean>();

  /** Resolves once `check()` returns true (checked now and on every `notify()`). */
  wait(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    let entry!: () => boolean;
    const settled = new Promise<void>((resolve) => {
      entry = () => {
        if (!check()) return false;
        resolve();
        return true;
      };
      this.waiting.add(entry);
    });
    return withTimeout(settled, ms, what).finally(() => this.waiting.delete(entry));
  }

  notify(): void {
    for (const entry of [...this.waiting]) {
      if (entry()) this.waiting.delete(entry);
    }
  }
}
