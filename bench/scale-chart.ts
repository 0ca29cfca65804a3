/**
 * The scale scenario's SVG chart (bench/results/scale-machine-chart.svg): gripstream and nchan
 * side by side, one group per metric, lower is better. Dependency-free like chart.ts, but
 * chart.ts plots ratios to raw-node, which the machine run does not have; here every metric has
 * its own unit, so each group is scaled to its own largest value and every bar carries its figure.
 */
import type { ScaleResult } from './scenarios/scale.ts';

/** One group of bars: a label (two short lines, so neighbours do not overlap), its unit, how to read a figure. */
interface ScaleChartMetric {
  label: readonly [string, string];
  unit: string;
  value: (r: ScaleResult) => number | undefined;
  digits: number;
}

export const SCALE_CHART_METRICS: readonly ScaleChartMetric[] = [
  { label: ['accept all', ''], unit: 's', value: (r) => seconds(r.acceptMs), digits: 1 },
  { label: ['one broadcast', 'reaches all'], unit: 's', value: (r) => seconds(r.broadcastMs), digits: 2 },
  { label: ['reconnect', 'storm'], unit: 's', value: (r) => seconds(r.reconnectMs), digits: 1 },
  { label: ['server CPU per', 'delivered event'], unit: 'µs', value: (r) => r.broadcastCpuMicrosPerEvent, digits: 2 },
  { label: ['server CPU per', 'accepted stream'], unit: 'µs', value: (r) => r.acceptCpuMicrosPerStream, digits: 1 },
  // KB = 1,000 bytes, as the issue's figures are quoted (9.0 KB per stream).
  { label: ['memory', 'per stream'], unit: 'KB', value: (r) => (r.rssPerStream === undefined ? undefined : r.rssPerStream / 1000), digits: 1 },
];

/** The implementations drawn, in this order (the machine run's pair). */
export const SCALE_CHART_IMPLEMENTATIONS = ['gripstream', 'nchan'] as const;

const COLORS: Record<string, string> = { gripstream: '#4e79a7', nchan: '#f28e2b' };

const WIDTH = 960;
const HEIGHT = 420;
const MARGIN = { top: 64, right: 20, bottom: 100, left: 20 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** A finite, positive figure or undefined (failed, skipped or n/a results draw a dash). */
function figure(metric: ScaleChartMetric, r: ScaleResult | undefined): number | undefined {
  if (r === undefined || r.status === 'skipped' || r.status === 'failed') return undefined;
  const v = metric.value(r);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
}

export function renderScaleChart(results: ScaleResult[], title: string): string {
  const groupW = PLOT_W / SCALE_CHART_METRICS.length;
  const barW = Math.min(56, (groupW * 0.7) / SCALE_CHART_IMPLEMENTATIONS.length);
  const bottom = MARGIN.top + PLOT_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escape(title)}</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555">lower is better; each group scaled to its own largest figure; * = incomplete, – = no figure</text>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
  ];
  SCALE_CHART_METRICS.forEach((metric, g) => {
    const groupX = MARGIN.left + g * groupW;
    const rows = SCALE_CHART_IMPLEMENTATIONS.map((impl) => results.find((r) => r.implementation === impl));
    const values = rows.map((r) => figure(metric, r));
    const max = Math.max(0, ...values.filter((v): v is number => v !== undefined));
    const barsX = groupX + (groupW - barW * rows.length) / 2;
    rows.forEach((r, i) => {
      const x = barsX + i * barW;
      const color = COLORS[SCALE_CHART_IMPLEMENTATIONS[i]!] ?? '#888';
      parts.push(...bar(x, barW, values[i], max, metric, r?.status === 'incomplete', color));
    });
    const cx = (groupX + groupW / 2).toFixed(1);
    parts.push(
      ...metric.label
        .filter((line) => line !== '')
        .map((line, l) => `<text x="${cx}" y="${bottom + 18 + 15 * l}" text-anchor="middle" font-weight="600">${escape(line)}</text>`),
      `<text x="${cx}" y="${bottom + 50}" text-anchor="middle" fill="#555">(${escape(metric.unit)}) ↓ better</text>`,
    );
  });
  parts.push(...legend(), '</svg>');
  return parts.join('\n') + '\n';
}

function bar(
  x: number,
  width: number,
  value: number | undefined,
  max: number,
  metric: ScaleChartMetric,
  incomplete: boolean,
  color: string,
): string[] {
  const bottom = MARGIN.top + PLOT_H;
  const cx = (x + width / 2).toFixed(1);
  if (value === undefined || !(max > 0)) {
    return [`<text x="${cx}" y="${bottom - 4}" text-anchor="middle" fill="${color}" font-weight="700">–</text>`];
  }
  const top = bottom - PLOT_H * (value / max);
  const label = `${value.toFixed(metric.digits)}${incomplete ? '*' : ''}`;
  return [
    `<rect x="${(x + 2).toFixed(1)}" y="${top.toFixed(1)}" width="${(width - 4).toFixed(1)}" height="${(bottom - top).toFixed(1)}" fill="${color}"${incomplete ? ' fill-opacity="0.5"' : ''}><title>${escape(`${label} ${metric.unit}`)}</title></rect>`,
    `<text x="${cx}" y="${(top - 5).toFixed(1)}" text-anchor="middle" font-size="11" fill="#222">${escape(label)}</text>`,
  ];
}

function legend(): string[] {
  const y = HEIGHT - 22;
  return SCALE_CHART_IMPLEMENTATIONS.flatMap((impl, i) => {
    const x = WIDTH / 2 - 150 + i * 170;
    const name = impl === 'nchan' ? 'nginx + nchan' : impl;
    return [
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[impl]}"/>`,
      `<text x="${x + 17}" y="${y}">${escape(name)}</text>`,
    ];
  });
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
