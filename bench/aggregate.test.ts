import { describe, expect, it } from 'vitest';
import { combineRounds, median } from './aggregate.ts';
import type { ScenarioResult } from './scenarios/types.ts';

function result(implementation: string, eventsPerSec: number, status: ScenarioResult['status'] = 'ok'): ScenarioResult {
  return { scenario: 'per-user', implementation, status, metrics: { eventsPerSec } };
}

function rounds(...pairs: [number, number][]): Map<string, ScenarioResult>[] {
  return pairs.map(([base, lib]) => new Map([['raw', result('raw', base)], ['lib', result('lib', lib)]]));
}

describe('combineRounds', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('a ratio is the median of per-round ratios, not the ratio of medians', () => {
    // The machine slowed down in round 2 for both: the per-round ratio stays 1.2.
    const [, lib] = combineRounds(rounds([100, 120], [50, 60], [200, 240]), ['raw', 'lib'], 'raw');
    expect(lib!.metrics['eventsPerSec']).toBe(120);
    expect(lib!.ratios!['eventsPerSec']).toBeCloseTo(1.2);
  });

  it('one disturbed round does not move the result', () => {
    const [, lib] = combineRounds(rounds([100, 90], [100, 30], [100, 95]), ['raw', 'lib'], 'raw');
    expect(lib!.ratios!['eventsPerSec']).toBeCloseTo(0.9);
  });

  it('complete rounds count before incomplete ones, and attempts are kept', () => {
    const data = rounds([100, 90], [100, 95]);
    data.push(new Map([['raw', result('raw', 100)], ['lib', result('lib', 5, 'incomplete')]]));
    const [, lib] = combineRounds(data, ['raw', 'lib'], 'raw');
    expect(lib!.status).toBe('ok');
    expect(lib!.metrics['eventsPerSec']).toBe(92.5);
    expect((lib!.details!['attempts'] as unknown[]).length).toBe(3);
  });

  it('a single round is passed through unchanged', () => {
    const only = rounds([100, 90]);
    expect(combineRounds(only, ['raw', 'lib'], 'raw')[1]).toBe(only[0]!.get('lib'));
  });
});
