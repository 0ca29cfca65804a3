/**
 * better-sse through its Session + Channel API (one Channel per channel name), with its
 * defaults: a 10 s keep-alive timer per session, `retry: 2000` at stream start, and a
 * random UUID `id:` on every broadcast event (so its events are ~45 bytes longer).
 */
import { createChannel, createSession, type Channel } from 'better-sse';
import { serve } from './harness.ts';

const channels = new Map<string, Channel>();

function channelNamed(name: string): Channel {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = createChannel();
    channels.set(name, channel);
  }
  return channel;
}

serve({
  async subscribe(req, res, channel) {
    // Resolves after the head is sent, in the same tick, so the client never sees a
    // head before the session is registered.
    const session = await createSession(req, res);
    channelNamed(channel).register(session);
  },
  publish(channel, { event, data }) {
    channels.get(channel)?.broadcast(data, event);
  },
});
