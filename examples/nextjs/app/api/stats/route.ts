import { eventStream } from '../../../lib/eventStream';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

// Open streams and subscribers per channel, counted over both routers: the pages-router
// and app-router bundles each hold their own copy of gripstream, but getEventStreamSingleton()
// hands both the one instance registered on globalThis.
export async function GET() {
  return Response.json(eventStream.stats(), { headers: { 'Cache-Control': 'no-store' } });
}
