import { describe, expect, it } from 'vitest';
import { DeliveryGate } from '../../src/redis/DeliveryGate.js';

// The gate of the Redis engine on one Redis (src/redis/DeliveryGate.ts), on its own: items in
// position order across channels while feeds read, and never held behind a stream of readers.

const item = (seq: number) => ({ seq, id: String(seq), event: 'message', data: '' });

function gate(): { gate: DeliveryGate; out: number[]; behind: string[] } {
  const out: number[] = [];
  const behind: string[] = [];
  return { gate: new DeliveryGate((_, i) => out.push(i.seq), (channel) => behind.push(channel)), out, behind };
}

describe('DeliveryGate', () => {
  it('passes items straight through when no feed reads', () => {
    const { gate: g, out } = gate();
    g.deliver('a', item(1));
    g.deliver('b', item(2));
    expect(out).toEqual([1, 2]);
  });

  it('holds items above a reading feed\'s floor and sends them in position order when it lets go', () => {
    const { gate: g, out } = gate();
    const reader = {};
    g.hold(reader, 10);
    g.deliver('b', item(5)); // at or below the floor: nothing older can come
    g.deliver('b', item(20));
    g.deliver('b', item(30));
    g.deliver('a', item(12)); // the reader's older entries
    g.deliver('a', item(25));
    expect(out).toEqual([5]);
    g.release(reader, 'a');
    expect(out).toEqual([5, 12, 20, 25, 30]);
  });

  it('overlapping readers do not starve the others: items below the lowest floor go out', () => {
    const { gate: g, out } = gate();
    let previous: object | undefined;
    // A new reader every step, each letting go one step later: the gate is never free.
    for (let step = 1; step <= 100; step++) {
      const reader = {};
      g.hold(reader, step * 10);
      if (previous !== undefined) g.release(previous, 'x');
      previous = reader;
      g.deliver('live', item(step * 10 - 5));
    }
    expect(out.length).toBeGreaterThanOrEqual(99);
    expect(out).toEqual([...out].sort((a, b) => a - b));
  });

  it('refuses an overdue channel\'s item older than what went out, and says so', () => {
    const { gate: g, out, behind } = gate();
    const reader = {};
    g.hold(reader, 10);
    g.deliver('b', item(50));
    g.giveUp(reader, 'a');
    expect(out).toEqual([50]);
    g.deliver('a', item(40));
    expect(behind).toEqual(['a']);
    g.deliver('a', item(60));
    expect(out).toEqual([50, 60]);
  });
});
