// /api/app-publish: the app-router twin of pages/api/publish.ts. It cannot be app/api/publish/route.ts:
// Next refuses to build when an app route and a pages route match the same path.
import { eventStream, CHANNEL_NAME } from '../../../lib/eventStream';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

// POST {"channel"?: string, "event"?: string, "data"?: unknown} → 202
export async function POST(request: Request) {
  let body: { channel?: unknown; event?: unknown; data?: unknown };
  try {
    body = (await request.json()) as typeof body;
  } catch {
    return Response.json({ error: 'body must be JSON' }, { status: 400 });
  }
  const channel = typeof body.channel === 'string' ? body.channel : CHANNEL_NAME;
  const event = typeof body.event === 'string' ? body.event : 'message';
  try {
    await eventStream.publishEvent(channel, { event, data: body.data });
  } catch (err) {
    return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 400 });
  }
  return Response.json({ ok: true, channel, event }, { status: 202 });
}
