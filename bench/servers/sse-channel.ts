/**
 * sse-channel 4, one SseChannel per channel name, with `jsonEncode` so it serialises the
 * data object itself like the other libraries do.
 *
 * Its optional costs are inactive without being switched off: history only records
 * events that carry an `id` (ours carry none), and its keep-alive is one `:\n` ping
 * timer per *channel* (default every 20 s; no scenario idles that long), not per
 * connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import SseChannel from 'sse-channel';
import { serve } from './harness.ts';

const channels = new Map<string, SseChannel>();

function channelNamed(name: string): SseChannel {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = new SseChannel({ jsonEncode: true });
    channels.set(name, channel);
  }
  return channel;
}

serve({
  subscribe(req: IncomingMessage, res: ServerResponse, channel: string) {
    channelNamed(channel).addClient(req, res);
  },
  publish(channel, event) {
    channels.get(channel)?.send(event);
  },
});
