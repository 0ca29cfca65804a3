/**
 * The Last-Event-ID of a stream on several channels when history lives on a Redis Cluster.
 *
 * Why a cursor: on a Cluster each channel's positions come from its own master (there is no
 * key shared by channels, so no global order), and a stream's events from two channels reach
 * it in delivery order, which need not be position order. One channel's position therefore
 * cannot say where the stream stands on the others: resuming every channel "after 1234" would
 * replay some events twice and skip others (an event of another master still in flight when
 * the client dropped). The browser keeps one id, so that id carries every channel's position:
 * the stream's own cursor, re-written on each event it is sent (Centrifugo keeps an offset per
 * channel client-side; nchan packs per-channel ids into one multiplexed id — same idea).
 *
 * Format: `~` fingerprint `.` base `.` delta per channel (channels in sorted order), all
 * base 36. `base` is the smallest non-zero position; a delta is position − base, `_` delta for
 * a channel that had no event at all at that position (when the stream joined: all it gets
 * later is new), empty for position 0, and `x` for a position not known (a failed read: that
 * channel then resumes as truncated). The fingerprint (FNV-1a of the sorted channel names)
 * ties the cursor to its channel set: on another set it is just an unknown id.
 *
 * Bounded: positions are safe integers (at most 11 base-36 digits), so 100 channels take at
 * most 1 + 7 + 12 + 100 × 13 = 1,320 characters, within the id rule's 2,048 (src/sse/eventId.ts),
 * and every character is [0-9a-z.~_]: a valid header value.
 *
 * Epochs need no field of their own: a channel's positions never repeat across its epochs (a
 * new epoch starts above every earlier position), and the read script answers incomplete for a
 * position older than the channel's epoch or newer than its newest event, so an id from before
 * an upgrade, from a wiped channel or from a master that lost writes in a failover gets
 * `history-truncated`, never a wrong replay.
 */
export const CURSOR_PREFIX = '~';

/** A channel whose position is not known (a failed read). */
export const UNKNOWN_POSITION = -1;

const UNKNOWN_MARK = 'x';
const EMPTY_MARK = '_';

/**
 * "The channel had no event at all at position T" is kept as −T − 2 (below UNKNOWN_POSITION):
 * every event it gets later is new to the stream, and a resume reads it as such (read mode 2).
 */
export function emptyAt(seq: number): number {
  return -seq - 2;
}

export function isEmptyAt(position: number): boolean {
  return position < UNKNOWN_POSITION;
}

export function emptySince(position: number): number {
  return -position - 2;
}

export class StreamCursor {
  /** The channels in sorted order: the cursor's field order. */
  private readonly order: readonly string[];
  private readonly fingerprint: string;
  private readonly at = new Map<string, number>();
  private text: string | undefined;

  constructor(channels: readonly string[], positions?: ReadonlyMap<string, number>) {
    this.order = sortedChannels(channels);
    this.fingerprint = fingerprintOf(this.order);
    for (const channel of this.order) this.at.set(channel, positions?.get(channel) ?? UNKNOWN_POSITION);
  }

  /** An independent copy (a paced replay advances its own while live frames use the final one). */
  clone(): StreamCursor {
    return new StreamCursor(this.order, this.at);
  }

  position(channel: string): number {
    return this.at.get(channel) ?? UNKNOWN_POSITION;
  }

  /**
   * Moves `channel` to `seq` when it is ahead; false when the stream had it already (a
   * duplicate, or an event older than the replay that covered it).
   */
  advance(channel: string, seq: number): boolean {
    const current = this.at.get(channel);
    if (current === undefined || (current >= 0 && seq <= current)) return false;
    this.at.set(channel, seq);
    this.text = undefined;
    return true;
  }

  /** Sets a channel's position, forward or back (the replay's start). */
  set(channel: string, seq: number): void {
    if (!this.at.has(channel)) return;
    this.at.set(channel, seq);
    this.text = undefined;
  }

  /** The id for the stream as it stands now. */
  id(): string {
    if (this.text !== undefined) return this.text;
    let base = Infinity;
    for (const position of this.at.values()) {
      const seq = isEmptyAt(position) ? emptySince(position) : position;
      if (seq > 0 && seq < base) base = seq;
    }
    if (base === Infinity) base = 0;
    const fields = this.order.map((channel) => {
      const seq = this.at.get(channel)!;
      if (seq === UNKNOWN_POSITION) return UNKNOWN_MARK;
      if (isEmptyAt(seq)) return EMPTY_MARK + (emptySince(seq) - base).toString(36);
      return seq === 0 ? '' : (seq - base).toString(36);
    });
    this.text = `${CURSOR_PREFIX}${this.fingerprint}.${base.toString(36)}.${fields.join('.')}`;
    return this.text;
  }
}

/**
 * The positions a cursor of `channels` holds, or undefined when `id` is not such a cursor
 * (another channel set, a plain id, an id from before the upgrade, or garbage).
 */
export function decodeCursor(id: string, channels: readonly string[]): Map<string, number> | undefined {
  if (!id.startsWith(CURSOR_PREFIX)) return undefined;
  const order = sortedChannels(channels);
  const parts = id.slice(CURSOR_PREFIX.length).split('.');
  if (parts.length !== order.length + 2 || parts[0] !== fingerprintOf(order)) return undefined;
  const base = parseBase36(parts[1]!);
  if (base === undefined) return undefined;
  const positions = new Map<string, number>();
  for (let i = 0; i < order.length; i++) {
    const field = parts[i + 2]!;
    if (field === UNKNOWN_MARK) {
      positions.set(order[i]!, UNKNOWN_POSITION);
      continue;
    }
    if (field.startsWith(EMPTY_MARK)) {
      const delta = parseBase36(field.slice(EMPTY_MARK.length));
      if (delta === undefined || !Number.isSafeInteger(base + delta)) return undefined;
      positions.set(order[i]!, emptyAt(base + delta));
      continue;
    }
    const delta = field === '' ? 0 : parseBase36(field);
    if (delta === undefined) return undefined;
    const seq = field === '' ? 0 : base + delta;
    if (!Number.isSafeInteger(seq)) return undefined;
    positions.set(order[i]!, seq);
  }
  return positions;
}

function sortedChannels(channels: readonly string[]): string[] {
  return [...new Set(channels)].sort();
}

function parseBase36(text: string): number | undefined {
  if (!/^[0-9a-z]{1,11}$/.test(text)) return undefined;
  const value = parseInt(text, 36);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** FNV-1a (32 bits) of the sorted names, base 36: ties a cursor to its channel set. */
function fingerprintOf(order: readonly string[]): string {
  let hash = 0x811c9dc5;
  const text = order.join('\n');
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
