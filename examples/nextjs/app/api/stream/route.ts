import { eventStream, CHANNEL_NAME } from '../../../lib/eventStream';

// A stream must never be prerendered or cached, and gripstream needs Node (node:buffer, timers).
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

// /api/stream?channel=x listens on 'x' ({channel} is filled from the URL's query);
// /api/stream listens on 'test'.
export async function GET(request: Request) {
  const hasChannel = new URL(request.url).searchParams.has('channel');
  return eventStream.fetch(request, hasChannel ? '{channel}' : CHANNEL_NAME);
}
