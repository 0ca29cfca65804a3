/**
 * The implementations compared, each a server module under servers/. raw-node comes
 * first: every ratio in the report is relative to it.
 */
import { nchanUnavailable } from './nginx.ts';
import type { ScenarioId } from './scenarios/types.ts';

export interface ImplementationSpec {
  /** Name in tables and charts. */
  name: string;
  /** Server module, relative to the repository root. */
  script: string;
  args?: string[];
  /** Why it cannot run, if it cannot (e.g. gripstream's source is not there yet). */
  unavailable?: string;
  /** Only these scenarios (default: all). */
  scenarios?: ScenarioId[];
}

/**
 * nchan publishes over HTTP (one POST per event), so back-to-back throughput would measure
 * its publisher endpoint, not fan-out: it runs in the memory and latency scenarios only.
 */
function nchanSpec(): ImplementationSpec {
  const unavailable = nchanUnavailable();
  return {
    name: 'nchan',
    script: 'bench/servers/nchan.ts',
    scenarios: ['idle-memory', 'latency'],
    ...(unavailable !== undefined ? { unavailable } : {}),
  };
}

/** The scale scenario's four: the floor, gripstream with default options, sse-channel, nchan. */
export function scaleImplementations(gripstreamPresent: boolean, workers = 1): ImplementationSpec[] {
  const missing = gripstreamPresent ? {} : { unavailable: 'src/index.ts does not exist yet' };
  if (workers > 1) {
    // Every core of one machine: gripstream's workers (node:cluster, Redis between them)
    // beside as many nginx workers. The one-process servers cannot hold the streams.
    return [
      { name: 'gripstream', script: 'bench/servers/gripstream-workers.ts', ...missing },
      { ...nchanSpec(), scenarios: ['scale'] },
    ];
  }
  return [
    { name: BASELINE, script: 'bench/servers/raw-node.ts' },
    // Default options: history on.
    { name: 'gripstream', script: 'bench/servers/gripstream.ts', args: ['--history'], ...missing },
    { name: 'sse-channel', script: 'bench/servers/sse-channel.ts' },
    { ...nchanSpec(), scenarios: ['scale'] },
  ];
}

export const BASELINE = 'raw-node';

/**
 * `withHistoryVariant` adds gripstream with its default event history, to show what
 * history costs; quick runs leave it out to stay short.
 */
export function implementations(
  gripstreamPresent: boolean,
  { withHistoryVariant }: { withHistoryVariant: boolean },
): ImplementationSpec[] {
  const missing = gripstreamPresent ? {} : { unavailable: 'src/index.ts does not exist yet' };
  const historyVariant: ImplementationSpec[] = withHistoryVariant
    ? [{ name: 'gripstream+history', script: 'bench/servers/gripstream.ts', args: ['--history'], ...missing }]
    : [];
  return [
    { name: BASELINE, script: 'bench/servers/raw-node.ts' },
    { name: 'gripstream', script: 'bench/servers/gripstream.ts', ...missing },
    ...historyVariant,
    // What metrics cost (issue 22): off, and on with an OTel SDK and a Prometheus scrape each second.
    { name: 'gripstream-metrics-off', script: 'bench/servers/gripstream.ts', args: ['--metrics=off'], scenarios: ['broadcast', 'per-user'], ...missing },
    { name: 'gripstream+metrics', script: 'bench/servers/gripstream.ts', args: ['--metrics=on'], scenarios: ['broadcast', 'per-user'], ...missing },
    { name: 'reference', script: 'bench/servers/reference.ts' },
    { name: 'better-sse', script: 'bench/servers/better-sse.ts' },
    { name: 'sse-channel', script: 'bench/servers/sse-channel.ts' },
    nchanSpec(),
  ];
}
