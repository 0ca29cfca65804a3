/**
 * Channel patterns in token claims: a name matches itself, and `*` stands for any run of
 * characters (none included), so `room-*` grants `room-1` and `room-lobby`, and `*` grants every
 * channel. `*` is always a wildcard in a claim: a channel whose name holds a `*` is granted by
 * any pattern it matches, which is why the docs advise against `*` in channel names.
 */
export function channelMatches(pattern: string, channel: string): boolean {
  if (!pattern.includes('*')) return pattern === channel;
  const parts = pattern.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (channel.length < first.length + last.length) return false;
  if (!channel.startsWith(first) || !channel.endsWith(last)) return false;
  // The middle parts, in order, each at its earliest place: greedy from the left is exact for
  // `*` (no backtracking needed), so the cost stays linear in the name, whatever the pattern.
  let at = first.length;
  const end = channel.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const found = channel.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** True when every channel is matched by one of the patterns. */
export function grantsAll(patterns: readonly string[], channels: readonly string[]): boolean {
  return channels.every((channel) => patterns.some((pattern) => channelMatches(pattern, channel)));
}
