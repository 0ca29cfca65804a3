/**
 * One LIFO stack of clean-up steps per test file: clients registered last are closed first,
 * then servers, then EventStreams. Call `runCleanups` from `afterEach`.
 */
type Step = () => unknown;

const steps: Step[] = [];

export function defer(step: Step): void {
  steps.push(step);
}

export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  while (steps.length > 0) {
    const step = steps.pop()!;
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'clean-up failed');
}

/** Registers `es.close()` for clean-up and returns `es`. */
export function track<T extends { close(): Promise<void> }>(closable: T): T {
  defer(() => closable.close());
  return closable;
}
