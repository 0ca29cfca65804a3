const SPLIT = 1e8;
let highValue = -1;
let highText = '';

/**
 * The decimal text of a position, as `String(position)` gives it, in a third of the time.
 * Positions are 16-digit numbers (the clock in microseconds): V8 turns those into text the
 * slow way, as doubles. Split in two, each half is a small integer, and the high half
 * changes once every 10⁸ events, so its text is kept.
 */
export function idText(position: number): string {
  if (!(position >= SPLIT && position <= Number.MAX_SAFE_INTEGER && Number.isInteger(position))) return String(position);
  const high = Math.floor(position / SPLIT);
  if (high !== highValue) {
    highValue = high;
    highText = String(high);
  }
  // 10⁸ + low has nine digits: drop the leading 1 to keep the low half's zeros.
  return highText + String(SPLIT + (position - high * SPLIT)).slice(1);
}
