/**
 * A wall clock with sub-millisecond resolution that is comparable across processes.
 *
 * Latency is measured as (client receive time − server publish time), taken in two
 * processes. `Date.now()` is comparable across processes but only has 1 ms resolution,
 * too coarse for p50 latencies of a few ms; `performance.now()` is fine-grained but its
 * origin is per process. So each process anchors `performance.now()` to the system clock
 * once, at the instant `Date.now()` ticks over to a new millisecond, which pins the
 * offset to within a few microseconds of the shared system clock.
 */
import { performance } from 'node:perf_hooks';

function calibrateOffset(): number {
  const start = Date.now();
  let now = start;
  // Bounded: Date.now() must change within ~1 ms; the cap only guards a frozen clock.
  for (let spins = 0; now === start && spins < 10_000_000; spins++) now = Date.now();
  return now - performance.now();
}

const offsetMs = calibrateOffset();

/** Milliseconds since the Unix epoch, fractional, same scale as `Date.now()`. */
export function wallClockMs(): number {
  return offsetMs + performance.now();
}
