import { EventStream } from 'gripstream';

// A Node-runtime route publishing to the GRIP proxy that holds the edge route's streams: the
// full EventStream with `grip` (and the default prefix, which the edge route shares).
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const holder = globalThis as typeof globalThis & { gripPublisher?: EventStream };

// POST {"room": string, "event"?: string, "data"?: unknown} → 202 once the proxy accepted it.
export async function POST(request: Request) {
  const grip = process.env.GRIP_URL;
  if (grip === undefined || grip === '') return new Response('set GRIP_URL\n', { status: 503 });
  holder.gripPublisher ??= new EventStream({ grip });
  const body = (await request.json().catch(() => null)) as { room?: unknown; event?: unknown; data?: unknown } | null;
  if (typeof body?.room !== 'string') return Response.json({ error: 'room must be a string' }, { status: 400 });
  const event = typeof body.event === 'string' ? body.event : 'message';
  try {
    await holder.gripPublisher.publishEvent(`edge-${body.room}`, { event, data: body.data });
  } catch (err) {
    return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 400 });
  }
  return Response.json({ ok: true }, { status: 202 });
}
