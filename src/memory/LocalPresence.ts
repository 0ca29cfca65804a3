import type { ChannelBus } from '../bus/ChannelBus.js';
import type { Presence } from '../engine/Presence.js';

/** Presence of one process: the bus's own counts, nothing to keep. */
export class LocalPresence implements Presence {
  constructor(private readonly bus: ChannelBus) {}

  count(channels: readonly string[]): Promise<Map<string, number>> {
    return Promise.resolve(new Map(channels.map((channel) => [channel, this.bus.countOf(channel)])));
  }

  changed(): void {}

  async close(): Promise<void> {}
}
