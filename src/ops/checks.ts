import { redactSecrets } from '../redact.js';
import type { Publisher } from '@fanoutio/grip';
import type { DependencyCheck } from '../telemetry/DependencyCheck.js';

/** Bound on one GRIP proxy check, in ms (the publish timeout, if shorter). */
const GRIP_CHECK_TIMEOUT = 2000;

/**
 * The dependencies an EventStream serves through: its backend's (the Redis of its engine or
 * history, checked by redis/healthCheck.ts; picked where the backend is known, src/backendTelemetry.ts)
 * first, then its GRIP proxies.
 */
export function dependencyChecks(
  backend: readonly DependencyCheck[],
  publisher: Publisher | undefined,
  gripTimeout: number,
): DependencyCheck[] {
  const checks: DependencyCheck[] = [...backend];
  if (publisher !== undefined) checks.push(...gripChecks(publisher, Math.min(gripTimeout, GRIP_CHECK_TIMEOUT)));
  return checks;
}

/**
 * A proxy answered: any HTTP status to a GET of its publish endpoint counts (Pushpin says 405,
 * a hosted service may say 401); only no answer within the bound is down. Nothing is published.
 */
function gripChecks(publisher: Publisher, timeoutMs: number): DependencyCheck[] {
  const checks: DependencyCheck[] = [];
  for (const client of publisher.clients) {
    const uri = (client as { publishUri?: unknown }).publishUri;
    // A custom client (no URI) cannot be asked without publishing: it is not checked.
    if (typeof uri !== 'string') continue;
    checks.push({
      kind: 'grip',
      address: withoutCredentials(uri),
      onDemand: true,
      async check() {
        const res = await fetch(uri, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
          throw isTimeout(err) ? new Error(`no answer within ${timeoutMs} ms`) : err;
        });
        await res.body?.cancel();
      },
    });
  }
  return checks;
}

function withoutCredentials(url: string): string {
  return redactSecrets(url);
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
