import type { EventStream } from '../src/index.js';

/**
 * How long a SIGTERM drains for, in ms: DRAIN_MS, default 10 s. Keep it below your
 * orchestrator's grace period (Kubernetes: terminationGracePeriodSeconds, 30 s by default).
 */
export const DRAIN_MS = Number(process.env.DRAIN_MS ?? 10_000);

/**
 * Wires an example's shutdown: SIGTERM (a deploy: Kubernetes, systemd, docker stop) drains the
 * EventStream over DRAIN_MS, so the clients move to the other instances spread over that window
 * and resume where they were; SIGINT (Ctrl-C at a terminal) closes at once. `stopServer` then
 * closes the HTTP server; the process exits 0 once it has.
 */
export function closeOnSignals(eventStream: EventStream, stopServer: () => Promise<void>): void {
  let stopping = false;
  const stop = (drain: number | false): void => {
    if (stopping) return;
    stopping = true;
    void eventStream
      .close({ drain })
      .then(stopServer)
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop(DRAIN_MS));
  process.on('SIGINT', () => stop(false));
}
