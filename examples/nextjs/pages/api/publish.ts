import type { NextApiRequest, NextApiResponse } from 'next';
import { eventStream, CHANNEL_NAME } from '../../lib/eventStream';

// POST {"channel"?: string, "event"?: string, "data"?: unknown} → 202
export default async function handler(req: NextApiRequest, res: NextApiResponse) {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    res.status(405).json({ error: 'method not allowed' });
    return;
  }
  const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as {
    channel?: unknown;
    event?: unknown;
    data?: unknown;
  };
  const channel = typeof body.channel === 'string' ? body.channel : CHANNEL_NAME;
  const event = typeof body.event === 'string' ? body.event : 'message';
  try {
    await eventStream.publishEvent(channel, { event, data: body.data });
  } catch (err) {
    res.status(400).json({ error: err instanceof Error ? err.message : String(err) });
    return;
  }
  res.status(202).json({ ok: true, channel, event });
}
