import { eventStream } from '../../../lib/eventStream';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

// The readiness probe (docs/operations.md): 200 while the dependencies answer and the
// instance is not draining, else 503; the body says which.
export function GET() {
  return eventStream.probeResponse('ready');
}
