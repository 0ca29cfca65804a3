/**
 * The scale scenario's plan: how N streams are spread over source addresses and load
 * processes, and how it shrinks (and says so) where descriptors are limited.
 */
import { describe, expect, it } from 'vitest';
import { planScale } from './scenarios/scale.ts';

const placement = { serverCpu: 0, clientCpu: 1 };

describe('planScale', () => {
  it('plans 100,000 streams over ten source addresses and two load processes when the descriptors allow it', () => {
    const setup = planScale(100_000, (wanted) => wanted, placement);
    expect(setup.streams).toBe(100_000);
    expect(setup.fdLimit).toBe(100_512);
    expect(setup.loadProcesses).toBe(2);
    expect(setup.sources).toEqual(Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`));
    expect(setup.adjustments).toEqual([]);
  });

  it('serves the streams from as many workers as the descriptor limit needs, and says why', () => {
    const setup = planScale(100_000, (wanted) => Math.min(wanted, 20_000), placement);
    expect(setup.streams).toBe(100_000);
    expect(setup.workers).toBe(6);
    expect(setup.loadProcesses).toBe(6);
    expect(setup.sources).toHaveLength(10);
    expect(setup.adjustments.join(' ')).toMatch(/served by 6 workers/);
  });

  it('one process where it holds them all; more workers when asked, never fewer than needed', () => {
    expect(planScale(19_000, (wanted) => Math.min(wanted, 20_000), placement).workers).toBe(1);
    expect(planScale(10_000, (wanted) => Math.min(wanted, 20_000), placement, undefined, 4).workers).toBe(4);
    const short = planScale(100_000, (wanted) => Math.min(wanted, 20_000), placement, undefined, 2);
    expect(short.workers).toBe(6);
    expect(short.adjustments.join(' ')).toMatch(/asked for 2 workers/);
  });

  it('spreads the streams over more load processes when each may hold fewer', () => {
    expect(planScale(4_000, (wanted) => wanted, placement, 1_500).loadProcesses).toBe(3);
  });

  it('never loses a stream to rounding', () => {
    for (const n of [1, 9_999, 10_000, 10_001, 55_555]) {
      const setup = planScale(n, (wanted) => wanted, placement);
      expect(setup.sources.length * 10_000).toBeGreaterThanOrEqual(n);
      expect(setup.streams).toBe(n);
    }
  });
});
