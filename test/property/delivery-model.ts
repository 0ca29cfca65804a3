/**
 * The pure model behind the delivery property: what every client of an event stream must have
 * seen, given the publishes and the connections so far. It knows nothing of sockets; the test
 * feeds it what was published and what each client received, and asks whether that is right.
 *
 * The rule it encodes: a client sees every event of its channels exactly once, in publish
 * order, from the moment it is subscribed (or from just after its Last-Event-ID), unless the
 * stream told it `history-truncated` first; then it gets an unbroken run of each channel up to
 * the newest event that covers everything the store still keeps after its id.
 */
export const TRUNCATED = 'history-truncated';

export interface Published {
  /** Position in the global publish log (publishes are awaited one after another). */
  index: number;
  channel: string;
  /** Unique per event; travels as the event's data (`{"t":tag}`). */
  tag: string;
  type: string;
  customId: string | undefined;
}

/** One event as a client received it, after `stream-open`. */
export interface Seen {
  type: string;
  data: string;
  id: string | undefined;
}

/**
 * Where a session starts. `fresh`: no Last-Event-ID; events from index `hi` on are owed, those
 * in [lo, hi) raced the connect and may or may not come. `resume`: everything after `after`
 * is owed, unless the stream says it is truncated.
 */
export type SessionStart =
  | { kind: 'fresh'; lo: number; hi: number }
  | {
      kind: 'resume';
      after: number;
      /** Some owed event is no longer kept: `history-truncated` is required. */
      mustTruncate: boolean;
      /** Also allowed when the resume id itself is no longer kept (the store cannot place it). */
      mayTruncate: boolean;
      /** Per channel, the index of its oldest kept event when the resume began. */
      keptFrom: ReadonlyMap<string, number>;
    };

export interface Verdict {
  /** A rule broken: the session is wrong whatever arrives later. */
  error?: string;
  /** Everything owed so far has arrived. */
  caughtUp: boolean;
  truncated: boolean;
  /** Per channel, the indices received, in arrival order. */
  received: Map<string, number[]>;
}

export class DeliveryModel {
  readonly log: Published[] = [];
  private readonly byTag = new Map<string, Published>();
  private readonly byChannel = new Map<string, number[]>();
  /** The id each event went out with, as first seen by any client. */
  private readonly idOfTag = new Map<string, string>();

  constructor(readonly maxEvents: number) {}

  publish(channel: string, events: ReadonlyArray<{ type: string; customId?: string }>): Published[] {
    return events.map(({ type, customId }) => {
      const published: Published = { index: this.log.length, channel, tag: `e${this.log.length}`, type, customId };
      this.log.push(published);
      this.byTag.set(published.tag, published);
      let list = this.byChannel.get(channel);
      if (list === undefined) this.byChannel.set(channel, (list = []));
      list.push(published.index);
      return published;
    });
  }

  /** Un-publishes the tail of the log: a publish call that rejected as a whole. */
  retract(count: number): void {
    for (const published of this.log.splice(this.log.length - count, count)) {
      this.byTag.delete(published.tag);
      this.byChannel.get(published.channel)?.pop();
    }
  }

  indicesOf(channel: string): readonly number[] {
    return this.byChannel.get(channel) ?? [];
  }

  tagged(tag: string): Published | undefined {
    return this.byTag.get(tag);
  }

  /** Index of the channel's oldest event a count-bounded store still keeps (Infinity: none). */
  keptFrom(channel: string): number {
    const all = this.indicesOf(channel);
    return all.length === 0 ? Infinity : all[Math.max(0, all.length - this.maxEvents)]!;
  }

  isKept(published: Published): boolean {
    return published.index >= this.keptFrom(published.channel);
  }

  /**
   * A publisher id is unique only within a channel: a channel of the stream that does not keep
   * it but evicted events with publisher ids may have carried it too, and the in-memory store
   * does not remember evicted ids, so it cannot place the client (docs/ids-history-resume.md).
   */
  private mayBeEvictedElsewhere(channels: readonly string[], resumedFrom: Published): boolean {
    const id = resumedFrom.customId;
    if (id === undefined) return false;
    return channels.some((channel) => {
      const events = this.indicesOf(channel).map((i) => this.log[i]!);
      const keeps = events.some((e) => this.isKept(e) && e.customId === id);
      return !keeps && events.some((e) => !this.isKept(e) && e.customId !== undefined);
    });
  }

  /** How a resume after the event at `after` on `channels` must start, as of now. */
  resumeStart(channels: readonly string[], after: number): SessionStart & { kind: 'resume' } {
    const keptFrom = new Map(channels.map((channel) => [channel, this.keptFrom(channel)]));
    const mustTruncate = channels.some((channel) => this.indicesOf(channel).some((i) => i > after && i < keptFrom.get(channel)!));
    const resumedFrom = this.log[after];
    const mayTruncate =
      mustTruncate ||
      (resumedFrom !== undefined && (!this.isKept(resumedFrom) || this.mayBeEvictedElsewhere(channels, resumedFrom)));
    return { kind: 'resume', after, mustTruncate, mayTruncate, keptFrom };
  }

  /** Judges one session's events so far against what it is owed. */
  judge(channels: readonly string[], start: SessionStart, seen: readonly Seen[]): Verdict {
    const received = new Map<string, number[]>(channels.map((channel) => [channel, []]));
    const verdict = (error?: string, caughtUp = false): Verdict => ({ error, caughtUp, truncated, received });
    const truncated = seen[0]?.type === TRUNCATED;
    if (truncated && start.kind === 'fresh') return verdict('history-truncated on a connect without Last-Event-ID');
    if (truncated && start.kind === 'resume' && !start.mayTruncate) {
      return verdict(`history-truncated although every event after ${this.describe(start.after)} is still kept`);
    }
    let previous = -1;
    for (const [position, event] of seen.entries()) {
      if (event.type === TRUNCATED) {
        if (position > 0) return verdict(`history-truncated as event #${position + 1}, after events (only allowed first)`);
        continue;
      }
      const published = this.identify(event);
      if (typeof published === 'string') return verdict(published);
      if (!received.has(published.channel)) {
        return verdict(`${published.tag} of channel ${published.channel} on a stream of [${channels.join(', ')}]`);
      }
      if (!truncated && start.kind === 'resume' && start.mustTruncate) {
        return verdict(`silent gap: events after ${this.describe(start.after)} were evicted, yet ${published.tag} came without history-truncated first`);
      }
      // Publishes are awaited one after another, so one stream carries them in that order even
      // across its channels; a resume from the newest id relies on it.
      if (published.index <= previous) {
        return verdict(`${published.tag} after ${this.log[previous]!.tag}: ${published.index === previous ? 'duplicate' : 'out of publish order'}`);
      }
      previous = published.index;
      received.get(published.channel)!.push(published.index);
    }
    let caughtUp = !(start.kind === 'resume' && start.mustTruncate && !truncated);
    for (const channel of channels) {
      const result = this.judgeChannel(channel, start, truncated, received.get(channel)!);
      if (result.error !== undefined) return verdict(`channel ${channel}: ${result.error}`);
      caughtUp &&= result.caughtUp;
    }
    return verdict(undefined, caughtUp);
  }

  /** The events of `channel` owed to a session that starts as `start` (the must-have part). */
  owed(channel: string, start: SessionStart, truncated: boolean): number[] {
    const all = this.indicesOf(channel);
    if (start.kind === 'fresh') return all.filter((i) => i >= start.hi);
    const from = truncated ? Math.max(start.after + 1, start.keptFrom.get(channel) ?? Infinity) : start.after + 1;
    return all.filter((i) => i >= from);
  }

  describe(index: number): string {
    const published = this.log[index];
    return published === undefined ? `#${index}` : `${published.tag}@${published.channel}`;
  }

  private judgeChannel(
    channel: string,
    start: SessionStart,
    truncated: boolean,
    got: readonly number[],
  ): { error?: string; caughtUp: boolean } {
    const all = this.indicesOf(channel);
    const owed = this.owed(channel, start, truncated);
    const names = (indices: readonly number[]): string => indices.map((i) => this.log[i]!.tag).join(',') || 'nothing';
    if (got.length === 0) return { caughtUp: owed.length === 0 };
    const first = all.indexOf(got[0]!);
    // An unbroken run of the channel's log, starting no later than the first owed event.
    for (let k = 1; k < got.length; k++) {
      if (all[first + k] !== got[k]) {
        return { error: `gap or disorder: got ${names(got)}, the channel had ${names(all)}`, caughtUp: false };
      }
    }
    const firstOwed = owed[0];
    if (firstOwed !== undefined && got[0]! > firstOwed) {
      return { error: `silent gap: got ${names(got)}, owed from ${this.log[firstOwed]!.tag} (${names(owed)})`, caughtUp: false };
    }
    const earliestAllowed = start.kind === 'fresh' ? start.lo : truncated ? -Infinity : start.after + 1;
    if (got[0]! < earliestAllowed) {
      return {
        error: `${this.log[got[0]!]!.tag} ${start.kind === 'fresh' ? 'was published before the client connected' : 'is not after the Last-Event-ID'}`,
        caughtUp: false,
      };
    }
    return { caughtUp: got[got.length - 1] === all[all.length - 1] };
  }

  /** The published event a received one is, checking its type and that its id never changes. */
  private identify(event: Seen): Published | string {
    let tag: unknown;
    try {
      tag = (JSON.parse(event.data) as { t?: unknown }).t;
    } catch {
      return `unparseable data ${JSON.stringify(event.data.slice(0, 80))}`;
    }
    const published = typeof tag === 'string' ? this.byTag.get(tag) : undefined;
    if (published === undefined) return `an event that was never published: ${event.data.slice(0, 80)}`;
    if (event.type !== published.type) return `${published.tag} arrived as type ${event.type}, published as ${published.type}`;
    if (event.id === undefined || event.id === '') return `${published.tag} arrived without an id`;
    if (published.customId !== undefined && event.id !== published.customId) {
      return `${published.tag} arrived with id ${event.id}, published with ${published.customId}`;
    }
    const known = this.idOfTag.get(published.tag);
    if (known === undefined) this.idOfTag.set(published.tag, event.id);
    else if (known !== event.id) return `${published.tag} arrived with id ${event.id}, earlier with ${known}`;
    return published;
  }
}
