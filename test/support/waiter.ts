/** Default bound of every wait in the framework tests. */
export const WAIT_MS = 5000;

/** Resolves `until(cond)` promises when `notify()` is called and `cond` holds; bounded by a timeout. */
export class Waiter {
  private readonly wakers = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  until<T>(check: () => T | undefined | false, label: string, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const wake = (): void => {
        let value: T | undefined | false;
        try {
          value = check();
        } catch (err) {
          cleanup();
          reject(err as Error);
          return;
        }
        if (value === undefined || value === false) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
      };
      this.wakers.add(wake);
      wake();
    });
  }
}
