/**
 * Memory per idle connection: the server samples `process.memoryUsage()` after full
 * GCs before and after N clients connect to one channel; the difference divided by N is
 * what one open, idle SSE stream costs.
 */
import { SHARED_CHANNEL, type StatsReply as Stats } from '../protocol.ts';
import { connectClients, sleep, type Session } from './session.ts';
import type { ScenarioResult } from './types.ts';

/** Lets lazily-created per-connection state (timers, buffers) appear before sampling. */
const SETTLE_MS = 500;
const STATS_TIMEOUT_MS = 30_000;

export function idleMemoryHardDeadlineMs(connectTimeoutMs: number): number {
  return connectTimeoutMs + SETTLE_MS + 2 * STATS_TIMEOUT_MS + 30_000;
}

export async function runIdleMemory(
  session: Session,
  connections: number,
): Promise<Omit<ScenarioResult, 'implementation'>> {
  const before = await session.server.request<Stats>({ type: 'stats' }, STATS_TIMEOUT_MS);
  await connectClients(session, { kind: 'shared', channel: SHARED_CHANNEL }, connections);
  await sleep(SETTLE_MS);
  const after = await session.server.request<Stats>({ type: 'stats' }, STATS_TIMEOUT_MS);

  // A figure the server cannot give (nchan's heap) is NaN, which IPC's JSON turns into null.
  const perConnection = (key: keyof Stats['memory']): number => {
    const [a, b] = [after.memory[key] as number | null, before.memory[key] as number | null];
    return typeof a === 'number' && typeof b === 'number' ? (a - b) / connections : NaN;
  };
  const allOpen = after.connections === connections;
  return {
    scenario: 'idle-memory',
    status: allOpen ? 'ok' : 'incomplete',
    metrics: { heapPerConn: perConnection('heapUsed'), rssPerConn: perConnection('rss') },
    ...(allOpen ? {} : { note: `${after.connections}/${connections} connections open when sampled` }),
    details: {
      connections,
      before: before.memory,
      after: after.memory,
      externalPerConn: perConnection('external'),
      arrayBuffersPerConn: perConnection('arrayBuffers'),
    },
  };
}
