import type { DependencyKind } from './Metrics.js';

/**
 * A dependency's check: resolves when it answered, rejects with why not. Made by the part that
 * talks to the dependency (redis/ for Redis, ops/checks.ts for GRIP proxies) and run by the
 * health monitor in ops/.
 */
export interface DependencyCheck {
  readonly kind: DependencyKind;
  readonly address: string;
  /**
   * Checked only once the app asked about health (ready(), a probe): a check that is visible
   * to someone else (a request to a proxy) is not made for an app that never asked.
   */
  readonly onDemand: boolean;
  check(): Promise<void>;
}
