import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INSTRUMENTS } from '../../src/ops/instruments.js';

// docs/operations-metrics.md lists every instrument, as the code names it, and nothing else.

const DOC = readFileSync(new URL('../../docs/operations-metrics.md', import.meta.url), 'utf8');
const rows = DOC.split('\n').filter((line) => /^\| `gripstream_/.test(line));

describe('docs/operations-metrics.md', () => {
  it('has one table row per instrument with its Prometheus name, OpenTelemetry name, unit and labels', () => {
    expect(rows).toHaveLength(INSTRUMENTS.length);
    for (const instrument of INSTRUMENTS) {
      const row = rows.find((line) => line.startsWith(`| \`${instrument.prom}\` | \`${instrument.otel}\` |`));
      expect(row, instrument.prom).toBeDefined();
      expect(row).toContain(`| \`${instrument.unit}\` |`);
      for (const label of instrument.labels) expect(row).toContain(`\`${label}\``);
    }
  });

  it('follows the Prometheus naming rules: prefix, _total on counters only, base units', () => {
    for (const { prom, kind, unit } of INSTRUMENTS) {
      expect(prom).toMatch(/^gripstream_[a-z_]+$/);
      expect(prom.endsWith('_total')).toBe(kind === 'counter');
      if (unit === 's') expect(prom).toMatch(/_seconds$/);
      if (unit === 'By') expect(prom).toMatch(/_bytes(_total)?$/);
    }
  });
});
