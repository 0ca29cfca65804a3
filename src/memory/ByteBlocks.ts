/**
 * Size of the shared blocks that small events are written into, one after the other. An
 * event needing more than an eighth of a block gets a block of its own, freed with it: a
 * large event never leaves most of a shared block unused, nor pins one.
 */
export const BLOCK_BYTES = 256 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * The bytes of a store's events in a few large Buffers (outside the V8 heap): the garbage
 * collector sees one object per block, never one per event. Events are appended to the
 * current block until it is full; a block is freed as soon as no kept event is in it
 * (each block counts its live bytes). Blocks are never written again once left, and never
 * reused: a freed block is dropped for the collector, so nothing that still holds a view
 * of it can see it change.
 *
 * Blocks are numbered; numbers of freed blocks are reused, so they stay small.
 */
export class ByteBlocks {
  private readonly ownBlockOver: number;
  private readonly buffers: (Buffer | undefined)[] = [];
  private readonly live: number[] = [];
  private readonly freeIds: number[] = [];
  private current = -1;
  private used = 0;
  /** Bytes of all blocks held. */
  allocated = 0;
  /** Bytes of kept events in them. */
  liveBytes = 0;

  /** Where `reserve` placed the next write: block number, offset and Buffer. */
  block = -1;
  at = 0;
  target: Buffer = EMPTY;

  constructor(private readonly blockBytes: number = BLOCK_BYTES) {
    this.ownBlockOver = blockBytes / 8;
  }

  /** Makes room for an event of at most `max` bytes; `commit` says how many it took. */
  reserve(max: number): void {
    if (max > this.ownBlockOver) {
      this.block = this.open(max);
      this.at = 0;
    } else {
      // Full is `>=`: a write never starts at a block's very end (Buffer#write refuses that offset).
      if (this.current < 0 || this.used + max >= this.blockBytes) {
        const left = this.current;
        this.current = this.open(this.blockBytes);
        this.used = 0;
        if (left >= 0 && this.live[left] === 0) this.free(left);
      }
      this.block = this.current;
      this.at = this.used;
    }
    this.target = this.buffers[this.block]!;
  }

  commit(written: number): void {
    const block = this.block;
    this.live[block]! += written;
    this.liveBytes += written;
    if (block === this.current) this.used += written;
    else if (written === 0) this.free(block);
  }

  /** An event of `bytes` bytes in `block` is no longer kept. */
  release(block: number, bytes: number): void {
    this.liveBytes -= bytes;
    const live = (this.live[block]! -= bytes);
    if (live === 0 && block !== this.current) this.free(block);
  }

  buffer(block: number): Buffer {
    return this.buffers[block]!;
  }

  /** Drops the current block too, once nothing is kept. */
  clear(): void {
    if (this.current >= 0 && this.live[this.current] === 0) this.free(this.current);
    this.current = -1;
    this.used = 0;
  }

  private open(size: number): number {
    const id = this.freeIds.pop() ?? this.buffers.length;
    this.buffers[id] = Buffer.allocUnsafeSlow(size);
    this.live[id] = 0;
    this.allocated += size;
    return id;
  }

  private free(id: number): void {
    this.allocated -= this.buffers[id]!.length;
    this.buffers[id] = undefined;
    this.freeIds.push(id);
  }
}
