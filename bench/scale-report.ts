/**
 * The scale scenario's Markdown report (bench/results/scale-latest.md): one row per
 * implementation, then gripstream against the issue's goals.
 *
 * Run directly, it redraws the machine run's chart from a saved result without rerunning it:
 *   npx tsx bench/scale-report.ts --chart bench/results/scale-machine-latest.json
 * writes scale-machine-chart.svg next to the JSON and links it from the .md beside it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.ts';
import { renderScaleChart } from './scale-chart.ts';
import type { ScaleResult, ScaleSetup } from './scenarios/scale.ts';

export interface ScaleRunInfo {
  startedAt: Date;
  durationMs: number;
  machine: MachineInfo;
  setup: ScaleSetup;
  askedStreams: number;
  pinning: string;
  loadAtStart: number;
  baseline: string;
  /** 1-min load average sampled every 5 s during the run. */
  loadDuring?: { mean: number; max: number };
  /** fs.file-max, fs.nr_open, the ephemeral port range, somaxconn… */
  systemLimits?: Record<string, string>;
  /** gripstream in one process (scale-latest.json, an earlier run): the figures the workers are judged against. */
  oneProcess?: { streams: number; broadcastCpuMicrosPerEvent?: number; acceptCpuMicrosPerStream?: number; floorAcceptCpuMicrosPerStream?: number; startedAt: string };
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });

/** The goals of issue 14, for gripstream, at 100,000 streams. */
export const SCALE_GOALS = {
  rssPerStreamBytes: 12 * 1024,
  heapRatioToFloor: 1.1,
  broadcastMs: 1_000,
  reconnectMs: 30_000,
};

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : `${int.format(v)} ms`);
const bytes = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${int.format(v)} B`);
const micros = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : `${dec.format(v)} µs`);

function loop(r: ScaleResult): string {
  if (r.loopDelay === undefined || Object.keys(r.loopDelay).length === 0) return r.status === 'skipped' || r.status === 'failed' ? '—' : 'n/a';
  const phases = (['accept', 'idle', 'broadcast', 'storm', 'live'] as const)
    .map((p) => r.loopDelay?.[p])
    .filter((s) => s !== undefined);
  const p99 = Math.max(...phases.map((s) => s.p99Ms));
  const max = Math.max(...phases.map((s) => s.maxMs));
  return `${dec.format(p99)} ms (max ${int.format(max)} ms)`;
}

function reconnect(r: ScaleResult): string {
  if (r.reconnectMs === undefined) return '—';
  if (!r.resumes) return `${ms(r.reconnectMs)} (no resume)`;
  return `${ms(r.reconnectMs)} (${r.caughtUp ? 'all exactly caught up' : '**not all caught up**'})`;
}

/** The machine run's chart, next to its report. */
export const SCALE_MACHINE_CHART_FILE = 'scale-machine-chart.svg';

/** The Markdown line that shows the chart (a path relative to the report). */
export function chartImageLine(chartFile: string): string {
  return `![gripstream against nginx + nchan, lower is better](${chartFile})`;
}

/** The chart's title, from the run it draws. */
export function scaleChartTitle(run: Pick<ScaleRunInfo, 'setup' | 'startedAt'>): string {
  const at = (run.startedAt instanceof Date ? run.startedAt.toISOString() : String(run.startedAt)).slice(0, 10);
  return `${int.format(run.setup.streams)} streams on one machine, ${run.setup.workers} server workers each (${at})`;
}

/**
 * Adds the chart's image line after the results table of a report written before charts were;
 * the figures are left as they are. Unchanged when the line is already there.
 */
export function insertChartLink(markdown: string, chartFile: string): string {
  const line = chartImageLine(chartFile);
  if (markdown.includes(line)) return markdown;
  const lines = markdown.split('\n');
  const heading = lines.indexOf('## Results');
  if (heading < 0) throw new Error('insertChartLink: the report has no "## Results" section');
  let end = lines.findIndex((l, i) => i > heading && l.startsWith('|'));
  if (end < 0) throw new Error('insertChartLink: the "## Results" section has no table');
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  lines.splice(end, 0, '', line);
  return lines.join('\n');
}

/** `chartFile`: a chart written next to the report, linked under the results table. */
export function renderScaleMarkdown(run: ScaleRunInfo, results: ScaleResult[], chartFile?: string): string {
  const floor = results.find((r) => r.implementation === run.baseline);
  const heapRatio = (r: ScaleResult): string => {
    const base = floor?.heapPerStream;
    if (r.heapPerStream === undefined || !Number.isFinite(r.heapPerStream) || base === undefined || !(base > 0)) return '';
    return ` (${(r.heapPerStream / base).toFixed(2)}×)`;
  };
  const rows = results.map((r) => {
    if (r.status === 'skipped' || r.status === 'failed') {
      return `| ${r.implementation} | **${r.status}**: ${r.note ?? ''} | | | | | | | | |`;
    }
    return (
      `| ${r.implementation} | ${int.format(r.streams)} | ${ms(r.acceptMs)} | ${bytes(r.rssPerStream)} | ` +
      `${bytes(r.heapPerStream)}${heapRatio(r)} | ${ms(r.broadcastMs)} | ${micros(r.broadcastCpuMicrosPerEvent)} | ` +
      `${reconnect(r)} | ${loop(r)} | ${micros(r.acceptCpuMicrosPerStream)} / ${micros(r.reconnectCpuMicrosPerStream)} |`
    );
  });
  const m = run.machine;
  const s = run.setup;
  return [
    s.workers > 1
      ? `# Scale benchmark: ${int.format(s.streams)} streams on one machine, ${s.workers} server workers each`
      : `# Scale benchmark: ${int.format(s.streams)} streams per server process`,
    '',
    `Run ${run.startedAt.toISOString()}, took ${(run.durationMs / 1000).toFixed(0)} s. Produced by ` +
      '`npm run bench -- --scenarios=scale` (`bench/scenarios/scale.ts`).',
    '',
    '## Machine and load',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; ${m.totalMemGiB} GiB RAM; ${m.os}; Node ${m.node}`,
    `- Placement: ${run.pinning}; ${s.loadProcesses} load process(es), streams from ${s.sources.join(', ')}`,
    `- ulimit -n per child: ${int.format(s.fdLimit)}`,
    `- Load average (1 min) at start: ${run.loadAtStart.toFixed(2)}` +
      (run.loadAtStart > 0.5 * m.cores ? ' — **other work was running; wall-clock figures are noisy**' : ''),
    ...(run.loadDuring ? [`- Load average (1 min) during the run: mean ${run.loadDuring.mean.toFixed(1)}, max ${run.loadDuring.max.toFixed(1)}`] : []),
    ...(run.systemLimits
      ? [`- System limits: ${Object.entries(run.systemLimits).map(([k, v]) => `${k} ${v}`).join('; ')}`]
      : []),
    ...(s.workers > 1
      ? [
          `- Servers: gripstream as ${s.workers} node:cluster workers on one port (bench/servers/gripstream-workers.ts; ` +
            `scheduling ${process.env['NODE_CLUSTER_SCHED_POLICY'] === 'rr' ? 'round robin through the primary' : '`SCHED_NONE`: each worker accepts itself'}), ` +
            'the Redis engine between them (one private redis-server), the primary publishing as the job; nchan as ' +
            `${s.workers} nginx workers (\`reuseport\`). Memory is PSS summed over every server process, redis-server included.`,
        ]
      : []),
    ...s.adjustments.map((a) => `- **Adjusted:** ${a}`),
    '',
    '## Results',
    '',
    '| Implementation | Streams | Accept all | RSS / stream | Heap / stream (× floor) | One broadcast reaches all | ' +
      'Server CPU / delivered event | Reconnect storm with Last-Event-ID | p99 event-loop delay (worst phase) | ' +
      'Server CPU / stream accepted / reconnected |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(chartFile !== undefined ? [chartImageLine(chartFile), ''] : []),
    ...renderNotes(results),
    ...renderWorkerLoops(results),
    s.workers > 1 ? renderMachineGoals(run, results) : renderGoals(results, floor, s.streams),
    '',
    '## How it is measured',
    '',
    '- Accept: time from the first connect to the last `200` response head, at most 1,024 handshakes in flight. ' +
      'Memory: server `rss` / `heapUsed` after two forced GCs with every stream open, minus before, ÷ streams ' +
      '(nchan: the nginx worker\'s RSS; heap n/a).',
    '- Idle: the streams are then held idle for 21 s, longer than gripstream\'s default keep-alive interval ' +
      '(20 s), so its keep-alive round over every stream falls inside; only the event-loop delay is taken.',
    '- Broadcast: one event published; from the publish call to the last stream\'s receipt (the load side\'s read). ' +
      'CPU: server user + system time from the publish until all received, ÷ deliveries.',
    '- Reconnect storm: the server closes every stream at once (the Node servers stay up, so the in-memory history ' +
      'survives as a shared history would survive a real restart; nchan: nginx is stopped and started again on the ' +
      'same port), 5 events are published while nobody listens, then every stream reconnects with its ' +
      '`Last-Event-ID`, 4,000 handshakes in flight (the accept backlog is 4,096). With resume (gripstream) the time ' +
      'runs until the last stream has all 5 missed events; a stream counts as caught up only with exactly those, no ' +
      '`history-truncated` and its connection still open. Without resume it runs until the last response head. ' +
      'A last broadcast then checks every stream is live.',
    '- Event-loop delay: `monitorEventLoopDelay` (10 ms resolution) in the server child, per phase (accept, idle, ' +
      'broadcast, storm, live; each window is reset after the forced GCs of its memory sample); the worst phase\'s ' +
      'p99 and the longest single stall are shown (every phase in scale-latest.json). nchan has no Node loop: n/a.',
    '- Server CPU per stream: user + system time of the accept phase ÷ N, and of the storm (replay included) ÷ N.',
    '',
  ].join('\n');
}

function renderNotes(results: ScaleResult[]): string[] {
  const noted = results.filter((r) => r.note !== undefined && r.status !== 'skipped' && r.status !== 'failed');
  if (noted.length === 0) return [];
  return ['### Notes', '', ...noted.map((r) => `- ${r.implementation}: ${r.status} — ${r.note}`), ''];
}

function renderGoals(results: ScaleResult[], floor: ScaleResult | undefined, streams: number): string {
  const g = results.find((r) => r.implementation === 'gripstream');
  if (g === undefined || g.status === 'skipped' || g.status === 'failed') return '## Goals (issue 14)\n\ngripstream did not run.\n';
  const check = (ok: boolean | undefined): string => (ok === undefined ? '?' : ok ? 'met' : '**not met**');
  const heapRatio = g.heapPerStream !== undefined && floor?.heapPerStream ? g.heapPerStream / floor.heapPerStream : undefined;
  const p99s = Object.values(g.loopDelay ?? {}).map((s) => s.p99Ms);
  return [
    `## Goals (issue 14), gripstream at ${int.format(streams)} streams` + (streams < 100_000 ? ' (the goals are for 100,000)' : ''),
    '',
    '| Goal | Measured | |',
    '| --- | --- | --- |',
    `| RSS ≤ 12 KiB per stream | ${bytes(g.rssPerStream)} | ${check(g.rssPerStream === undefined ? undefined : g.rssPerStream <= SCALE_GOALS.rssPerStreamBytes)} |`,
    `| heap within 1.1× of the floor | ${heapRatio === undefined ? '—' : `${heapRatio.toFixed(2)}×`} | ${check(heapRatio === undefined ? undefined : heapRatio <= SCALE_GOALS.heapRatioToFloor)} |`,
    `| one broadcast reaches all within 1 s | ${ms(g.broadcastMs)} | ${check(g.broadcastMs === undefined ? undefined : g.broadcastMs <= SCALE_GOALS.broadcastMs)} |`,
    `| reconnect storm with resume, all exactly caught up, within 30 s | ${reconnect(g)} | ${check(g.reconnectMs === undefined ? undefined : g.caughtUp === true && g.reconnectMs <= SCALE_GOALS.reconnectMs)} |`,
    `| p99 event-loop delay reported | ${p99s.length > 0 ? `${dec.format(Math.max(...p99s))} ms worst phase` : '—'} | ${check(p99s.length > 0)} |`,
  ].join('\n');
}

/** Each worker's p99 event-loop delay, per phase. */
function renderWorkerLoops(results: ScaleResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const [phase, sample] of Object.entries(r.loopDelay ?? {})) {
      if (sample?.workersP99Ms === undefined) continue;
      lines.push(`- ${r.implementation}, ${phase}: ${sample.workersP99Ms.map((v) => `${dec.format(v)} ms`).join(' · ')}`);
    }
  }
  return lines.length === 0 ? [] : ['### p99 event-loop delay per worker', '', ...lines, ''];
}

/** The goals of issue 25: one machine, every core, 100,000 streams. */
function renderMachineGoals(run: ScaleRunInfo, results: ScaleResult[]): string {
  const g = results.find((r) => r.implementation === 'gripstream');
  const n = results.find((r) => r.implementation === 'nchan');
  if (g === undefined || g.status === 'skipped' || g.status === 'failed') return '## Goals (issue 25)\n\ngripstream did not run.\n';
  const check = (ok: boolean | undefined): string => (ok === undefined ? '?' : ok ? 'met' : '**not met**');
  const one = run.oneProcess;
  const cores = run.setup.placement.serverCpu !== undefined ? 1 : run.machine.cores;
  const broadcastCpuMs = g.broadcastCpuMicrosPerEvent === undefined ? undefined : (g.broadcastCpuMicrosPerEvent * g.streams) / 1000;
  const broadcastBound = broadcastCpuMs === undefined ? undefined : (broadcastCpuMs / cores) * 1.3;
  const cpuRatio = one?.broadcastCpuMicrosPerEvent && g.broadcastCpuMicrosPerEvent ? g.broadcastCpuMicrosPerEvent / one.broadcastCpuMicrosPerEvent : undefined;
  const acceptRatio = one?.floorAcceptCpuMicrosPerStream && g.acceptCpuMicrosPerStream ? g.acceptCpuMicrosPerStream / one.floorAcceptCpuMicrosPerStream : undefined;
  const ahead = (a: number | undefined, b: number | undefined): boolean | undefined => (a === undefined || b === undefined ? undefined : a < b);
  return [
    `## Goals (issue 25), gripstream at ${int.format(g.streams)} streams on ${run.setup.workers} workers` +
      (g.streams < 100_000 ? ' (the goals are for 100,000)' : ''),
    '',
    '| Goal | Measured | |',
    '| --- | --- | --- |',
    `| RSS ≤ 10 KiB per stream, every process (Redis included) | ${bytes(g.rssPerStream)} | ${check(g.rssPerStream === undefined ? undefined : g.rssPerStream <= 10 * 1024)} |`,
    `| server CPU per accepted stream ≤ 1.1× the hand-written floor's | ${micros(g.acceptCpuMicrosPerStream)}` +
      (one?.floorAcceptCpuMicrosPerStream ? ` against the floor's ${micros(one.floorAcceptCpuMicrosPerStream)} in one process (${one.startedAt.slice(0, 10)}): ${acceptRatio?.toFixed(2)}×` : ' (no floor figure)') +
      ` | ${check(acceptRatio === undefined ? undefined : acceptRatio <= 1.1)} |`,
    `| CPU per delivered event within 1.2× of one process | ${micros(g.broadcastCpuMicrosPerEvent)}` +
      (one?.broadcastCpuMicrosPerEvent ? ` against ${micros(one.broadcastCpuMicrosPerEvent)} (${int.format(one.streams)} streams, one process, ${one.startedAt.slice(0, 10)}): ${cpuRatio?.toFixed(2)}×` : '') +
      ` | ${check(cpuRatio === undefined ? undefined : cpuRatio <= 1.2)} |`,
    `| one broadcast reaches all within its CPU ÷ ${cores} server core(s) + 30 % | ${ms(g.broadcastMs)} against ${ms(broadcastBound)} | ${check(broadcastBound === undefined || g.broadcastMs === undefined ? undefined : g.broadcastMs <= broadcastBound)} |`,
    `| reconnect storm complete and exact within 60 s | ${reconnect(g)} | ${check(g.reconnectMs === undefined ? undefined : g.caughtUp === true && g.reconnectMs <= 60_000)} |`,
    `| ahead of nchan on CPU per delivery | ${micros(g.broadcastCpuMicrosPerEvent)} against ${micros(n?.broadcastCpuMicrosPerEvent)} | ${check(ahead(g.broadcastCpuMicrosPerEvent, n?.broadcastCpuMicrosPerEvent))} |`,
    `| ahead of nchan on storm time | ${ms(g.reconnectMs)} against ${ms(n?.reconnectMs)} | ${check(ahead(g.reconnectMs, n?.reconnectMs))} |`,
  ].join('\n');
}

/** Redraws the chart from a saved machine run (`--chart <json>`) and links it from the .md beside it. */
function redrawChart(jsonPath: string): void {
  const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as { run: ScaleRunInfo; results: ScaleResult[] };
  const dir = dirname(jsonPath);
  const svgPath = join(dir, SCALE_MACHINE_CHART_FILE);
  writeFileSync(svgPath, renderScaleChart(saved.results, scaleChartTitle(saved.run)));
  console.log(`bench: wrote ${svgPath}`);
  const mdPath = join(dir, basename(jsonPath).replace(/\.json$/, '.md'));
  if (!existsSync(mdPath)) return;
  const before = readFileSync(mdPath, 'utf8');
  const after = insertChartLink(before, SCALE_MACHINE_CHART_FILE);
  if (after !== before) {
    writeFileSync(mdPath, after);
    console.log(`bench: linked the chart from ${mdPath}`);
  }
}

// Only when run as a script: run.ts imports this module for the report.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--chart');
  const jsonPath = at >= 0 ? process.argv[at + 1] : undefined;
  if (jsonPath === undefined) {
    console.error('usage: npx tsx bench/scale-report.ts --chart bench/results/scale-machine-latest.json');
    process.exit(2);
  }
  redrawChart(jsonPath);
}
