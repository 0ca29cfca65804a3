import { EdgeEventStream } from 'gripstream/edge';

// An Edge-runtime stream: the GRIP proxy (Pushpin, Fastly Fanout) in front of this app holds the
// client's connection; this function only answers the proxy once, with hold instructions. It
// needs GRIP_URL (the proxy's publish URL, with `iss` and `key` so Grip-Sig is checked). Events
// come from any instance publishing to the proxy: /api/grip-publish (Node) or POST here (edge).
export const runtime = 'edge';
export const dynamic = 'force-dynamic';

let eventStream: EdgeEventStream | undefined;

function edgeStream(): EdgeEventStream | undefined {
  const grip = process.env.GRIP_URL;
  if (grip === undefined || grip === '') return undefined;
  eventStream ??= new EdgeEventStream({
    grip,
    // Rooms named private-* are refused with a reason, which the proxy passes to the client.
    authorize: (_request, channels) =>
      channels.some((channel) => channel.startsWith('edge-private-')) ? { status: 403, reason: 'private rooms need an invitation' } : true,
  });
  return eventStream;
}

const NO_GRIP = () => new Response('set GRIP_URL: edge streams are held by a GRIP proxy\n', { status: 503 });

// GET /api/edge?room=x (through the proxy) listens on channel `edge-x`.
export async function GET(request: Request) {
  return edgeStream()?.fetch(request, 'edge-{room}') ?? NO_GRIP();
}

// POST {"room": string, "event"?: string, "data"?: unknown} publishes from the edge.
export async function POST(request: Request) {
  const stream = edgeStream();
  if (stream === undefined) return NO_GRIP();
  const body = (await request.json().catch(() => null)) as { room?: unknown; event?: unknown; data?: unknown } | null;
  if (typeof body?.room !== 'string') return Response.json({ error: 'room must be a string' }, { status: 400 });
  const event = typeof body.event === 'string' ? body.event : 'message';
  try {
    await stream.publishEvent(`edge-${body.room}`, { event, data: body.data });
  } catch (err) {
    return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 400 });
  }
  return Response.json({ ok: true }, { status: 202 });
}
