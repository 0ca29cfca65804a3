import createDebug from 'debug';
import type { Gap } from './RedisHistory.js';
import type { BatchItem, BatchMessage } from './message.js';

/** Where a feed reads what it missed. */
export interface FeedSource {
  /**
   * Where the channel stands and what its stream holds after `afterSeq`. `firstRead`: the
   * feed's first read (marks the channel as known from `afterSeq` on).
   */
  gapAfter(channel: string, afterSeq: number, options: { firstRead: boolean }): Promise<Gap>;
}

export interface FeedTarget {
  /** Hands one event, in channel order, to this instance's subscribers. */
  deliver(channel: string, item: BatchItem): void;
  /** What was published meanwhile can no longer be read: the live streams cannot be vouched for. */
  lost(channel: string): void;
  /** A gap in pub/sub delivery was read back from the stream and delivered (for the metrics). */
  filled?(channel: string): void;
  /**
   * Every channel's deliveries above `floor` wait from now (this feed is about to read older
   * positions than what arrives live meanwhile, all above `floor`); `release` lets them go, in
   * position order (DeliveryGate).
   */
  hold(feed: ChannelFeed, floor: number): void;
  release(feed: ChannelFeed): void;
  /** The hold lasted too long: the others go on; this channel's older items are refused later. */
  giveUp(feed: ChannelFeed): void;
  /** Resolves once everything Redis published before now has reached this instance. */
  fence(): Promise<void>;
}

const debug = createDebug('gripstream:redis:feed');

/** Delay before a failed read of Redis is tried again. */
const RETRY_MS = 250;
/**
 * Longest a feed holds every channel's deliveries (normally one read and one PING: a few ms).
 * A feed that cannot read for longer (its subscription refused, Redis answering nothing) must
 * not stop the other channels: it lets them go, and whatever it delivers later that is older
 * than what they sent ends its streams instead (DeliveryGate), so that they resume in order.
 */
const HOLD_LIMIT_MS = 5000;

/**
 * One channel's live delivery on one instance, exactly once and in order. Batches arrive by
 * Redis pub/sub only (at most once), this instance's own publishes included (they come back
 * through its subscription like every other instance's); each carries the channel's position before it, so a batch that does not follow the last one
 * delivered reveals a gap, which is read from the stream before anything later is delivered.
 * Batches already delivered are skipped. A changed epoch (a wiped Redis) or a gap the stream no
 * longer holds means the live streams missed events for good: they are ended, and their
 * clients' resume gets `history-truncated` from the store.
 */
export class ChannelFeed {
  private lastSeq: number | undefined;
  /** Newest position delivered: a channel whose newest position falls below it lost writes. */
  private deliveredSeq = 0;
  /** False until the first read: `lastSeq` is then a point in time, not yet a position of the channel. */
  private anchored = false;
  private epoch: string | undefined;
  private readonly queue: BatchMessage[] = [];
  private busy = false;
  private recheckWanted = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Bumped whenever something is delivered or a read applied: tells a recheck's answer it is stale. */
  private version = 0;
  /** True while this feed holds every channel's deliveries (from a read's start to its fence). */
  private holding = false;
  /** Reads (and fences) in flight, and a failed read waiting for its retry: the hold stays. */
  private inFlight = 0;
  private retryPending = false;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly channel: string,
    private readonly source: FeedSource,
    private readonly target: FeedTarget,
  ) {}

  /**
   * Starts delivering what was appended after `fromSeq` (Redis's clock when the first local
   * client joined): read from the stream first, so what was published while the subscription
   * was being set up is not missed.
   */
  start(fromSeq: number): void {
    if (this.stopped) return;
    this.started = true;
    // The floor the hold announced: this feed must deliver nothing at or below it.
    this.lastSeq = this.beginFloor > 0 ? this.beginFloor : fromSeq;
    void this.sync();
  }

  /** True once `start` was called. */
  started = false;

  /**
   * Holds every channel's deliveries from now until this feed has read where it starts: a
   * stream that just joined on this channel and others must not get the others' newer events
   * before this channel's older ones. Call it when the feed is made; `start` ends it.
   */
  begin(floor: number): void {
    this.beginFloor = floor;
    this.holdGate();
  }

  /** A lower bound of Redis's clock when the first client joined (0: not known yet). */
  private beginFloor = 0;

  accept(batch: BatchMessage): void {
    if (this.stopped || batch.items.length === 0) return;
    this.queue.push(batch);
    this.drain();
  }

  /**
   * After the subscription (re)connected: anything published while it was down is read from
   * the stream. Also the answer to a lost message that no later message would reveal. It does
   * not hold back live batches meanwhile (they are in order; only a gap waits for a read), so
   * a stream on several channels keeps their publish order.
   */
  recheck(): void {
    if (this.stopped) return;
    if (this.busy || !this.anchored) {
      this.recheckWanted = true;
      return;
    }
    void this.check();
  }

  /**
   * The subscription dropped: this channel may be missing messages from now on, so its newer
   * deliveries wait until the recheck that follows the reconnection has read the stream.
   */
  suspend(): void {
    if (this.anchored) this.holdGate();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    clearTimeout(this.retryTimer);
    this.releaseGate();
  }

  private holdGate(): void {
    if (this.holding || this.stopped) return;
    this.holding = true;
    this.target.hold(this, this.lastSeq ?? this.beginFloor);
    this.holdTimer = setTimeout(() => {
      debug('%s: still reading after %d ms: the other channels go on', this.channel, HOLD_LIMIT_MS);
      if (!this.holding) return;
      this.holding = false;
      this.target.giveUp(this);
    }, HOLD_LIMIT_MS);
    this.holdTimer.unref();
  }

  private releaseGate(): void {
    if (!this.holding) return;
    this.holding = false;
    clearTimeout(this.holdTimer);
    this.target.release(this);
  }

  /**
   * Ends this feed's hold once nothing of it is left to read: after a fence, so that the live
   * batches Redis sent before the read (on the other connection) are in before the gate opens.
   */
  private async settle(): Promise<void> {
    if (!this.holding || !this.anchored || this.inFlight > 0 || this.retryPending || this.busy || this.recheckWanted) return;
    this.inFlight++;
    await this.target.fence();
    this.inFlight--;
    if (this.stopped || !this.holding || this.inFlight > 0 || this.retryPending || this.busy || this.recheckWanted) return;
    this.releaseGate();
  }

  private drain(): void {
    while (!this.busy && !this.stopped && this.anchored) {
      if (this.recheckWanted) {
        this.recheckWanted = false;
        void this.check();
      }
      const batch = this.queue.shift();
      if (batch === undefined) return;
      if (!this.take(batch)) {
        this.queue.unshift(batch);
        void this.sync();
        return;
      }
    }
  }

  /** Delivers a batch that follows what was delivered; false when there is a gap before it. */
  private take(batch: BatchMessage): boolean {
    // A new epoch starts from nothing: whatever came before this batch in it is a gap.
    if (batch.epoch !== this.epoch) this.newEpoch(batch.epoch, 0);
    const last = this.lastSeq!;
    if (batch.items[batch.items.length - 1]!.seq <= last) return true; // delivered already
    if (batch.prevSeq > last) return false;
    for (const item of batch.items) if (item.seq > last) this.target.deliver(this.channel, item);
    this.version++;
    this.lastSeq = batch.items[batch.items.length - 1]!.seq;
    this.deliveredSeq = this.lastSeq;
    return true;
  }

  /** Blocking read: live batches wait until what the stream holds after `lastSeq` is delivered. */
  private async sync(): Promise<void> {
    this.busy = true;
    this.holdGate();
    const delivered = this.deliveredSeq;
    const anchored = this.anchored;
    const gap = await this.read(() => void this.sync());
    this.busy = false;
    if (gap === undefined || this.stopped) return;
    this.apply(gap, delivered);
    // The first read anchors a new feed; later ones fill a gap pub/sub left.
    if (anchored && this.deliveredSeq !== delivered) this.target.filled?.(this.channel);
    this.drain();
    void this.settle();
  }

  /**
   * Non-blocking read for a recheck. A recheck runs after the subscription was confirmed, so
   * a live batch taken while its answer was on its way came through that subscription: it
   * followed what was delivered (or its gap started a blocking read), and what came after it
   * arrives live too. The answer then has nothing to add, and it is older than what was
   * delivered: judged as current, an answer read before the channel's first publish (no epoch
   * yet) looks like a wiped Redis and ends the streams for nothing. Only what it proves on its
   * own still counts: Redis holding less than had been delivered when it was sent.
   */
  private async check(): Promise<void> {
    this.holdGate();
    const delivered = this.deliveredSeq;
    const anchored = this.anchored;
    const versionAsked = this.version;
    const gap = await this.read(() => this.recheck());
    if (gap === undefined || this.stopped) return;
    if (this.busy) {
      this.recheckWanted = true;
      return;
    }
    if (this.version !== versionAsked) {
      debug('%s: a recheck answered after live deliveries: only its loss check counts', this.channel);
      if (gap.epoch === this.epoch && gap.last > 0 && gap.last < delivered) this.target.lost(this.channel);
      void this.settle();
      return;
    }
    this.apply(gap, delivered);
    if (anchored && this.deliveredSeq !== delivered) this.target.filled?.(this.channel);
    this.drain();
    void this.settle();
  }

  private async read(retry: () => void): Promise<Gap | undefined> {
    this.inFlight++;
    try {
      return await this.source.gapAfter(this.channel, this.lastSeq!, { firstRead: !this.anchored });
    } catch (err) {
      debug('%s: reading the stream failed (%s), retrying', this.channel, String(err));
      // Redis unreachable: try again shortly (the subscription's reconnect also rechecks).
      // The hold stays: what the other channels get meanwhile waits for this one's gap.
      if (!this.stopped) {
        clearTimeout(this.retryTimer);
        this.retryPending = true;
        this.retryTimer = setTimeout(() => {
          this.retryPending = false;
          retry();
        }, RETRY_MS);
        this.retryTimer.unref();
      }
      return undefined;
    } finally {
      this.inFlight--;
    }
  }

  /** `delivered`: the newest position delivered when the read was sent (live batches go on meanwhile). */
  private apply(gap: Gap, delivered: number): void {
    this.version++;
    debug('%s: read after %d: epoch %s, last %d, %d entries', this.channel, this.lastSeq, gap.epoch, gap.last, gap.entries.length);
    if (!this.anchored) {
      this.anchored = true;
      this.epoch = gap.epoch;
      this.deliverFresh(gap, { noticeLoss: false });
    } else if (gap.epoch !== this.epoch && this.epoch === '') {
      // Redis was empty when we looked: everything in this first epoch since is new to us.
      this.epoch = gap.epoch;
      this.deliverFresh(gap, { noticeLoss: false });
    } else if (gap.epoch !== this.epoch) {
      this.newEpoch(gap.epoch, gap.last);
    } else if (gap.last > 0 && gap.last < delivered) {
      // Same epoch, but Redis no longer has what we delivered: a Cluster master died before
      // its replica had those writes. The streams that saw them cannot be vouched for.
      this.target.lost(this.channel);
      this.lastSeq = gap.last;
      this.deliveredSeq = gap.last;
      this.deliverFresh(gap, { noticeLoss: false });
    } else {
      this.deliverFresh(gap, { noticeLoss: true });
    }
  }

  /** Delivers the entries after `lastSeq`; with `noticeLoss`, ends the streams when the stream no longer holds some of them. */
  private deliverFresh(gap: Gap, options: { noticeLoss: boolean }): void {
    const last = this.lastSeq!;
    const fresh = gap.entries.filter((entry) => entry.seq > last);
    const [first] = fresh;
    if (options.noticeLoss && ((first === undefined && gap.last > last) || (first !== undefined && first.prevSeq > last))) {
      // Trimmed before we could read it.
      this.target.lost(this.channel);
    }
    for (const { record } of fresh) {
      this.target.deliver(this.channel, { seq: record.seq, id: record.id, event: record.event, data: record.data });
      this.deliveredSeq = record.seq;
    }
    this.lastSeq = Math.max(last, gap.last, fresh.at(-1)?.seq ?? 0);
  }

  private newEpoch(epoch: string, lastSeq: number): void {
    // '' is an empty Redis (nothing published since a wipe, already handled): nothing to lose.
    if (this.epoch !== undefined && this.epoch !== '') this.target.lost(this.channel);
    this.epoch = epoch;
    this.lastSeq = lastSeq;
  }
}
