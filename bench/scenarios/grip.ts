/**
 * GRIP scenario: NOT IMPLEMENTED YET — a hook for a later change.
 *
 * Intended shape (so the orchestrator and report need no changes): start a real Pushpin
 * on loopback (test/support/pushpin.ts already does this, fully isolated), start the
 * gripstream and reference servers with `{ grip: pushpin.publishUri }` as their origin,
 * point the load client at Pushpin's client port instead of the server's (the client
 * only needs a different `port` in its `connect` request), and publish through the
 * libraries so the fan-out happens in Pushpin. Report delivered events/s like the
 * broadcast scenario. Only implementations with GRIP support (gripstream, reference)
 * apply; the others would be reported as skipped.
 */
import type { ScenarioResult } from './types.ts';

export const GRIP_SCENARIO_NOTE = 'stub: the GRIP (Pushpin) scenario is not implemented yet';

export function runGripStub(): Omit<ScenarioResult, 'implementation'> {
  return { scenario: 'grip', status: 'skipped', metrics: {}, note: GRIP_SCENARIO_NOTE };
}
