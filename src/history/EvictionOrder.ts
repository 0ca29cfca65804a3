/**
 * Every event of the store in publish order, as (position, log slot) pairs in two typed
 * arrays used as a ring: the front is the globally oldest event, which store-wide eviction
 * removes first. Events that already left their channel (count, age or byte bounds) stay
 * here as stale entries until they reach the front or the queue is compacted, so every
 * event enters and leaves once: O(1) amortised.
 */
export class EvictionOrder {
  private seqs = new Float64Array(1024);
  private slots = new Int32Array(1024);
  private head = 0;
  private mask = 1023;
  /** Entries, stale ones included. */
  length = 0;

  push(seq: number, slot: number): void {
    if (this.length > this.mask) this.resize((this.mask + 1) * 2);
    const i = (this.head + this.length) & this.mask;
    this.seqs[i] = seq;
    this.slots[i] = slot;
    this.length++;
  }

  /** Position of the front entry (length must be > 0). */
  frontSeq(): number {
    return this.seqs[this.head]!;
  }

  frontSlot(): number {
    return this.slots[this.head]!;
  }

  shift(): void {
    this.head = (this.head + 1) & this.mask;
    this.length--;
  }

  /** Keeps only the entries `isLive` accepts, in order; shrinks the ring to fit them. */
  compact(isLive: (seq: number, slot: number) => boolean): void {
    let kept = 0;
    for (let n = 0; n < this.length; n++) {
      const i = (this.head + n) & this.mask;
      const seq = this.seqs[i]!;
      const slot = this.slots[i]!;
      if (!isLive(seq, slot)) continue;
      // Writing behind the reading point (kept <= n) never overwrites an unread entry.
      const j = (this.head + kept) & this.mask;
      this.seqs[j] = seq;
      this.slots[j] = slot;
      kept++;
    }
    this.length = kept;
    let capacity = this.mask + 1;
    while (capacity > 1024 && kept * 4 < capacity) capacity /= 2;
    if (capacity !== this.mask + 1) this.resize(capacity);
  }

  private resize(capacity: number): void {
    const seqs = new Float64Array(capacity);
    const slots = new Int32Array(capacity);
    for (let n = 0; n < this.length; n++) {
      const i = (this.head + n) & this.mask;
      seqs[n] = this.seqs[i]!;
      slots[n] = this.slots[i]!;
    }
    this.seqs = seqs;
    this.slots = slots;
    this.head = 0;
    this.mask = capacity - 1;
  }
}
