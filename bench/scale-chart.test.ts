/**
 * The machine run's chart and its link: every metric drawn for both implementations with its
 * figure, and a saved report gains the image line without any figure changing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderScaleChart } from './scale-chart.ts';
import { SCALE_MACHINE_CHART_FILE, chartImageLine, insertChartLink } from './scale-report.ts';
import type { ScaleResult } from './scenarios/scale.ts';

const result = (implementation: string, scale: number, status: ScaleResult['status'] = 'ok'): ScaleResult => ({
  implementation,
  status,
  streams: 100_000,
  resumes: true,
  acceptMs: 9_000 * scale,
  broadcastMs: 1_100 * scale,
  reconnectMs: 17_000 * scale,
  broadcastCpuMicrosPerEvent: 11 * scale,
  acceptCpuMicrosPerStream: 90 * scale,
  rssPerStream: 9_000 * scale,
  details: {},
  wallMs: 1,
});

describe('renderScaleChart', () => {
  it('draws six groups of two labelled bars, the larger figure of each group at full height', () => {
    const svg = renderScaleChart([result('gripstream', 1), result('nchan', 2)], 'title');
    const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="#[0-9a-f]+"><title>/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(12);
    for (let g = 0; g < 6; g++) expect(heights[2 * g]! * 2).toBeCloseTo(heights[2 * g + 1]!, 0);
    for (const label of ['9.0', '18.0', '1.10', '2.20', '17.0', '34.0', '11.00', '22.00', '90.0', '180.0']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(svg).toContain('nginx + nchan');
  });

  it('draws a dash for a failed implementation and stars an incomplete one', () => {
    const failed = { ...result('nchan', 2), status: 'failed' as const };
    const svg = renderScaleChart([result('gripstream', 1, 'incomplete'), failed], 'title');
    expect(svg.match(/>–<\/text>/g)).toHaveLength(6);
    expect(svg).toContain('>9.0*</text>');
  });
});

describe('insertChartLink', () => {
  const saved = readFileSync(new URL('./results/scale-machine-latest.md', import.meta.url), 'utf8');
  const withoutLink = saved.replace(`${chartImageLine(SCALE_MACHINE_CHART_FILE)}\n\n`, '');

  it('the committed report links the committed chart', () => {
    expect(saved).toContain(chartImageLine(SCALE_MACHINE_CHART_FILE));
    expect(withoutLink).not.toContain('.svg');
  });

  it('adds only the image line, right after the results table, and only once', () => {
    const linked = insertChartLink(withoutLink, 'chart.svg');
    const added = linked.split('\n').filter((l) => !withoutLink.split('\n').includes(l));
    expect(added).toEqual([chartImageLine('chart.svg')]);
    expect(linked).toMatch(/\| nchan \|[^\n]*\n\n!\[[^\n]*\]\(chart\.svg\)\n/);
    expect(insertChartLink(linked, 'chart.svg')).toBe(linked);
  });

  it('says so when the report has no results table', () => {
    expect(() => insertChartLink('# nothing\n', 'chart.svg')).toThrow(/Results/);
  });
});
