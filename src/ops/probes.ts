import { InvalidConfigError } from '../errors.js';
import type { StreamResponse } from '../types.js';
import type { HealthReport } from './health.js';

/** `live`: the process answers (restart it if not). `ready`: send it traffic (stop if not). */
export type ProbeKind = 'live' | 'ready';

/** A `node:http` / Express / connect handler for a Kubernetes probe. */
export type ProbeHandler = (req: unknown, res: StreamResponse) => void;

/** `probe(kind)`'s argument: a typo would otherwise make a probe that never passes (or always does). */
export function checkProbeKind(kind: unknown): void {
  if (kind !== 'live' && kind !== 'ready') {
    throw new InvalidConfigError(`probe kind must be 'live' or 'ready', got ${typeof kind === 'string' ? JSON.stringify(kind) : typeof kind}`);
  }
}

const PROBE_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } as const;

/** 200 when the probe passes, else 503; the body is the report as JSON, for a human reading it. */
export function probeAnswer(kind: ProbeKind, report: HealthReport): { status: number; body: string } {
  const pass = kind === 'live' ? report.live : report.ready;
  return { status: pass ? 200 : 503, body: `${JSON.stringify({ status: pass ? 'ok' : 'unavailable', ...report })}\n` };
}

/** Writes a probe's answer on a `node:http` (or HTTP/2 compatibility) response. */
export function writeProbe(res: StreamResponse, answer: { status: number; body: string }): void {
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...PROBE_HEADERS, 'Content-Length': String(body.length) });
  res.end(body);
}

/** The same answer as a WHATWG `Response` (Next.js route handlers, Hono, any fetch runtime). */
export function probeResponse(answer: { status: number; body: string }): Response {
  return new Response(answer.body, { status: answer.status, headers: PROBE_HEADERS });
}
