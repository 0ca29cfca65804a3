/**
 * A dependency-free SVG chart: for each metric a group of bars, one per implementation,
 * height = ratio to raw-node on a log scale (ratios span 0.01× to a few ×, which a linear
 * axis would flatten). A dashed line marks 1× (= raw-node). Incomplete results are
 * hatched and starred; failed ones show a cross.
 */
import { METRICS, findResult, formatRatio, ratioToBaseline } from './metrics.ts';
import type { ScenarioResult } from './scenarios/types.ts';

const PALETTE = ['#4e79a7', '#f28e2b', '#edc948', '#e15759', '#76b7b2', '#59a14f', '#b07aa1', '#9c755f'];

const WIDTH = 1240;
const HEIGHT = 480;
const MARGIN = { top: 56, right: 20, bottom: 96, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

export function renderChart(
  results: ScenarioResult[],
  implementations: string[],
  baseline: string,
  title: string,
): string {
  // Only metrics some implementation has a figure for (filtered runs skip scenarios).
  const metrics = METRICS.filter((metric) =>
    implementations.some((impl) => ratioToBaseline(results, impl, baseline, metric) !== undefined),
  );
  const ratios = metrics.map((metric) =>
    implementations.map((impl) => ratioToBaseline(results, impl, baseline, metric)),
  );
  const [lowDecade, highDecade] = decadeRange(ratios.flat().filter((r): r is number => r !== undefined));
  const y = (ratio: number): number =>
    MARGIN.top + PLOT_H * (1 - (Math.log10(ratio) - lowDecade) / (highDecade - lowDecade));

  const groupW = PLOT_W / Math.max(1, metrics.length);
  const barW = Math.min(28, (groupW * 0.8) / implementations.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="11">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="white" fill-opacity="0.0"/><line x1="0" y1="0" x2="0" y2="6" stroke="white" stroke-width="3"/></pattern></defs>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escape(title)}</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555">ratio to ${escape(baseline)} (log scale); * = incomplete, ✗ = failed</text>`,
    ...gridLines(lowDecade, highDecade, y),
  ];

  metrics.forEach((metric, g) => {
    const groupX = MARGIN.left + g * groupW;
    const barsX = groupX + (groupW - barW * implementations.length) / 2;
    implementations.forEach((impl, i) => {
      const x = barsX + i * barW;
      const status = findResult(results, impl, metric.scenario)?.status;
      parts.push(...bar(x, barW, ratios[g]![i], status, PALETTE[i % PALETTE.length]!, y, lowDecade));
    });
    const hint = metric.better === 'higher' ? '↑ better' : '↓ better';
    parts.push(
      `<text x="${groupX + groupW / 2}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle" font-weight="600">${escape(metric.label)}</text>`,
      `<text x="${groupX + groupW / 2}" y="${MARGIN.top + PLOT_H + 32}" text-anchor="middle" fill="#555">${hint}</text>`,
    );
  });

  parts.push(...legend(implementations), '</svg>');
  return parts.join('\n') + '\n';
}

/** Whole decades covering every ratio and 1×, so bars and gridlines line up. */
function decadeRange(ratios: number[]): [number, number] {
  const logs = [0, ...ratios.filter((r) => r > 0).map(Math.log10)];
  const low = Math.floor(Math.min(...logs) - 0.05);
  const high = Math.ceil(Math.max(...logs) + 0.05);
  return [low, Math.max(high, low + 1)];
}

function gridLines(low: number, high: number, y: (ratio: number) => number): string[] {
  const lines: string[] = [];
  for (let d = low; d <= high; d++) {
    const ratio = 10 ** d;
    const yy = y(ratio).toFixed(1);
    const isOne = d === 0;
    lines.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${yy}" y2="${yy}" stroke="${isOne ? '#333' : '#ddd'}"${isOne ? ' stroke-dasharray="5 4"' : ''}/>`,
      `<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#555">${formatRatio(ratio)}</text>`,
    );
  }
  return lines;
}

function bar(
  x: number,
  width: number,
  ratio: number | undefined,
  status: ScenarioResult['status'] | undefined,
  color: string,
  y: (ratio: number) => number,
  lowDecade: number,
): string[] {
  const bottom = MARGIN.top + PLOT_H;
  const cx = (x + width / 2).toFixed(1);
  if (ratio === undefined || ratio <= 0) {
    const mark = status === 'failed' ? '✗' : '–';
    return [`<text x="${cx}" y="${bottom - 4}" text-anchor="middle" fill="${color}" font-weight="700">${mark}</text>`];
  }
  const top = Math.min(bottom, y(Math.max(ratio, 10 ** lowDecade)));
  const incomplete = status === 'incomplete';
  const rect = `x="${(x + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(width - 2).toFixed(1)}" height="${(bottom - top).toFixed(1)}"`;
  const label = `${formatRatio(ratio)}${incomplete ? '*' : ''}`;
  return [
    `<rect ${rect} fill="${color}"><title>${escape(label)}</title></rect>`,
    ...(incomplete ? [`<rect ${rect} fill="url(#hatch)"/>`] : []),
    `<text x="${cx}" y="${(top - 4).toFixed(1)}" text-anchor="start" font-size="9" fill="#333" stroke="white" stroke-width="2.5" paint-order="stroke" transform="rotate(-60 ${cx} ${(top - 4).toFixed(1)})">${escape(label)}</text>`,
  ];
}

function legend(implementations: string[]): string[] {
  const items: string[] = [];
  const itemW = Math.min(170, (WIDTH - MARGIN.left - MARGIN.right) / implementations.length);
  const yy = HEIGHT - 24;
  implementations.forEach((impl, i) => {
    const x = MARGIN.left + i * itemW;
    items.push(
      `<rect x="${x}" y="${yy - 9}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text x="${x + 17}" y="${yy + 1}">${escape(impl)}</text>`,
    );
  });
  return items;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
