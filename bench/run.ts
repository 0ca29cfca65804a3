/**
 * `npm run bench`: runs every scenario against every implementation, side by side, and
 * writes the Markdown report, a JSON dump and an SVG chart to bench/results/.
 *
 * Options (flags or environment):
 *   --quick            / BENCH_QUICK=1          small sizes, a smoke test (< 1 min)
 *   --only=a,b         / BENCH_ONLY=a,b         implementations to run (raw-node is always kept)
 *   --scenarios=a,b    / BENCH_SCENARIOS=a,b    broadcast, per-user, idle-memory, latency, grip, redis,
 *                                               cross-instance;
 *                                               and the opt-in scale (never in the default run)
 *   --scale-streams=N  / BENCH_SCALE_STREAMS=N  streams in the scale scenario (default 100,000)
 *   --yield-every=N    / BENCH_YIELD_EVERY=N    back-to-back publishing yields every N events
 *   --repeat=N         / BENCH_REPEAT=N         rounds of throughput and latency; medians are
 *                                               reported (default 3, quick 1)
 *   --no-pin           / BENCH_NO_PIN=1         do not pin server and client to CPUs 0 and 1
 *   BENCH_CPU_PROF_DIR=<dir>                    children write V8 CPU profiles there
 *
 * Everything is bounded: every request to a child has a timeout, every scenario has a
 * hard deadline after which its processes are killed and it is reported as failed, and
 * the whole run has a deadline after which it exits.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { combineRounds } from './aggregate.ts';
import { roundsOf } from './rounds.ts';
import { renderChart } from './chart.ts';
import { BASELINE, implementations, scaleImplementations, type ImplementationSpec } from './implementations.ts';
import { machineInfo, type MachineInfo } from './machine.ts';
import { cpuPinningAvailable, reachableFdLimit } from './processes.ts';
import { renderMarkdown, type RunInfo } from './report.ts';
import { systemLimits } from './proc.ts';
import { renderScaleChart } from './scale-chart.ts';
import { SCALE_MACHINE_CHART_FILE, renderScaleMarkdown, scaleChartTitle, type ScaleRunInfo } from './scale-report.ts';
import { DEFAULT_SCALE_STREAMS, planScale, runScale, type ScaleResult } from './scenarios/scale.ts';
import { runGrip } from './scenarios/grip.ts';
import { runRedis } from './scenarios/redis.ts';
import { runCrossInstance } from './scenarios/cross-instance.ts';
import { idleMemoryHardDeadlineMs, runIdleMemory } from './scenarios/idle-memory.ts';
import { latencyHardDeadlineMs, runLatency } from './scenarios/latency.ts';
import { withSession, type Placement, type Session } from './scenarios/session.ts';
import {
  broadcastLayout,
  perUserLayout,
  runThroughput,
  throughputHardDeadlineMs,
} from './scenarios/throughput.ts';
import type { ScenarioId, ScenarioResult } from './scenarios/types.ts';
import { DEFAULT_SIZES, QUICK_SIZES, capConnections, peakConnections, type Sizes } from './sizes.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const GRIPSTREAM_ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
/** File descriptors a process needs besides its sockets (stdio, IPC, libuv, modules). */
const FD_HEADROOM = 128;
const RUN_DEADLINE_MS = { default: 30 * 60_000, quick: 3 * 60_000 };

type MeasuredScenario = Exclude<ScenarioId, 'grip' | 'redis' | 'cross-instance' | 'scale'>;
const MEASURED: MeasuredScenario[] = ['broadcast', 'per-user', 'idle-memory', 'latency'];
/** The default run. `scale` (tens of minutes, 100,000 sockets) only runs when asked for. */
const SCENARIOS: ScenarioId[] = [...MEASURED, 'grip', 'redis', 'cross-instance'];
const KNOWN_SCENARIOS: ScenarioId[] = [...SCENARIOS, 'scale'];

interface Options {
  quick: boolean;
  pin: boolean;
  yieldEvery: number | undefined;
  repeat: number;
  only: string[] | undefined;
  scenarios: ScenarioId[];
  scaleStreams: number;
  /** At least this many server workers in the scale scenario (undefined: as the descriptors need). */
  scaleWorkers: number | undefined;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flag = (name: string): string | undefined => {
    const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    return hit === undefined ? undefined : hit.includes('=') ? hit.split('=')[1] : '1';
  };
  const list = (text: string | undefined): string[] | undefined =>
    text === undefined || text === '' ? undefined : text.split(',').map((s) => s.trim());
  const quick = (flag('quick') ?? env['BENCH_QUICK'] ?? '0') !== '0';
  const scenarios = list(flag('scenarios') ?? env['BENCH_SCENARIOS']) ?? SCENARIOS;
  const unknown = scenarios.filter((s) => !KNOWN_SCENARIOS.includes(s as ScenarioId));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const yieldEvery = Number(flag('yield-every') ?? env['BENCH_YIELD_EVERY'] ?? NaN);
  const repeat = Number(flag('repeat') ?? env['BENCH_REPEAT'] ?? (quick ? 1 : 3));
  const scaleStreams = Number(flag('scale-streams') ?? env['BENCH_SCALE_STREAMS'] ?? DEFAULT_SCALE_STREAMS);
  if (!(Number.isInteger(scaleStreams) && scaleStreams >= 1)) throw new Error(`--scale-streams must be a positive integer`);
  const scaleWorkers = Number(flag('scale-workers') ?? env['BENCH_SCALE_WORKERS'] ?? NaN);
  return {
    quick,
    pin: (flag('no-pin') ?? env['BENCH_NO_PIN'] ?? '0') === '0',
    repeat: repeat >= 1 ? Math.min(10, Math.floor(repeat)) : 1,
    yieldEvery: yieldEvery >= 1 ? Math.floor(yieldEvery) : undefined,
    only: list(flag('only') ?? env['BENCH_ONLY']),
    scenarios: scenarios as ScenarioId[],
    scaleStreams,
    scaleWorkers: Number.isInteger(scaleWorkers) && scaleWorkers >= 1 ? scaleWorkers : undefined,
  };
}

/** Shrinks the sizes if either process could run out of file descriptors. */
function fitToFdLimit(sizes: Sizes, machine: MachineInfo, adjustments: string[]): Sizes {
  const needed = peakConnections(sizes) + FD_HEADROOM;
  if (!(machine.fdSoftLimit < needed)) return sizes;
  const limit = Math.max(0, machine.fdSoftLimit - FD_HEADROOM);
  adjustments.push(
    `ulimit -n is ${machine.fdSoftLimit} but ${needed} descriptors are needed per process; ` +
      `connection counts capped at ${limit} (raise it with \`ulimit -n ${needed}\` before \`npm run bench\`).`,
  );
  return capConnections(sizes, limit);
}

/** Server on one CPU, client on the other, if the machine and container allow it. */
function choosePlacement(pin: boolean, adjustments: string[]): { placement: Placement; description: string } {
  if (!pin) {
    adjustments.push('CPU pinning turned off (--no-pin); the scheduler placed server and client.');
    return { placement: {}, description: 'unpinned (--no-pin)' };
  }
  if (os.availableParallelism() >= 2 && cpuPinningAvailable()) {
    return { placement: { serverCpu: 0, clientCpu: 1 }, description: 'server pinned to CPU 0, client to CPU 1 (taskset)' };
  }
  adjustments.push('CPU pinning unavailable; server and client processes were placed by the scheduler.');
  return { placement: {}, description: 'unpinned (scheduler-placed)' };
}

type Measurement = Omit<ScenarioResult, 'implementation'>;

interface ScenarioPlan {
  /** After this long the session's processes are killed and the scenario fails. */
  hardDeadlineMs: number;
  measure: (session: Session) => Promise<Measurement>;
}

function planScenario(scenario: MeasuredScenario, sizes: Sizes): ScenarioPlan {
  const connectMs = sizes.connectTimeoutMs;
  switch (scenario) {
    case 'broadcast':
      return {
        hardDeadlineMs: throughputHardDeadlineMs(sizes.broadcast, connectMs),
        measure: (s) => runThroughput(s, 'broadcast', broadcastLayout(), sizes.broadcast),
      };
    case 'per-user':
      return {
        hardDeadlineMs: throughputHardDeadlineMs(sizes.perUser, connectMs),
        measure: (s) => runThroughput(s, 'per-user', perUserLayout(sizes.perUser.clients), sizes.perUser),
      };
    case 'idle-memory':
      return {
        hardDeadlineMs: idleMemoryHardDeadlineMs(connectMs),
        measure: (s) => runIdleMemory(s, sizes.idleMemory.connections),
      };
    case 'latency':
      return {
        hardDeadlineMs: latencyHardDeadlineMs(sizes.latency, connectMs),
        measure: (s) => runLatency(s, sizes.latency),
      };
  }
}

async function runScenario(
  scenario: MeasuredScenario,
  impl: ImplementationSpec,
  placement: Placement,
  sizes: Sizes,
): Promise<ScenarioResult> {
  if (impl.scenarios !== undefined && !impl.scenarios.includes(scenario)) {
    return { scenario, implementation: impl.name, status: 'skipped', metrics: {}, note: 'not run in this scenario' };
  }
  if (impl.unavailable !== undefined) {
    return { scenario, implementation: impl.name, status: 'skipped', metrics: {}, note: impl.unavailable };
  }
  const plan = planScenario(scenario, sizes);
  try {
    const measurement = await withSession(impl, placement, sizes, plan.hardDeadlineMs, plan.measure);
    return { ...measurement, implementation: impl.name };
  } catch (err) {
    const note = err instanceof Error ? err.message : String(err);
    return { scenario, implementation: impl.name, status: 'failed', metrics: {}, note };
  }
}

function describeResult(result: ScenarioResult): string {
  const metrics = Object.entries(result.metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(' ');
  return `${result.status.padEnd(10)} ${metrics}${result.note ? `  (${result.note})` : ''}`;
}

function writeResults(run: RunInfo, results: ScenarioResult[], markdown: string, partial: boolean): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // Smoke and filtered runs must not overwrite the last full result.
  const prefix = `${run.mode === 'quick' ? 'quick-' : ''}${partial ? 'partial-' : ''}`;
  const base = prefix === '' ? 'latest' : `${prefix}latest`;
  const chart = renderChart(results, run.implementations, run.baseline, `SSE fan-out: ratio to ${run.baseline}`);
  const files: [string, string][] = [
    [`${base}.md`, markdown],
    [`${base}.json`, JSON.stringify({ run, results }, null, 2) + '\n'],
    [`${prefix}chart.svg`, chart],
  ];
  if (prefix === '') {
    const stamp = run.startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
    files.push([`${stamp}.md`, markdown]);
  }
  for (const [name, content] of files) writeFileSync(RESULTS_DIR + name, content);
  return files.map(([name]) => `bench/results/${name}`);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const options = parseOptions(process.argv.slice(2), process.env);
  const mode = options.quick ? 'quick' : 'default';
  // The scale scenario brings its own budget: up to 15 minutes per implementation.
  const deadlineMs = RUN_DEADLINE_MS[mode] + (options.scenarios.includes('scale') ? 60 * 60_000 : 0);
  const runDeadline = setTimeout(() => {
    console.error(`\nbench: the whole run exceeded ${deadlineMs / 60_000} min; giving up.`);
    process.exit(1);
  }, deadlineMs);
  runDeadline.unref();

  const loadAtStart = os.loadavg()[0]!;
  const adjustments: string[] = [];
  const machine = machineInfo();
  const planned = options.quick ? QUICK_SIZES : DEFAULT_SIZES;
  const sizes = fitToFdLimit({ ...planned, yieldEvery: options.yieldEvery ?? planned.yieldEvery }, machine, adjustments);
  const { placement, description: pinning } = choosePlacement(options.pin, adjustments);
  const gripstreamPresent = existsSync(GRIPSTREAM_ENTRY);
  if (!gripstreamPresent) adjustments.push('gripstream skipped: src/index.ts does not exist yet.');
  const selected = (i: ImplementationSpec): boolean =>
    options.only === undefined || i.name === BASELINE || options.only.includes(i.name);
  const impls = implementations(gripstreamPresent, { withHistoryVariant: !options.quick }).filter(selected);
  const mainScenarios = options.scenarios.filter((s) => s !== 'scale');
  if (mainScenarios.length === 0) {
    await runScaleScenario(options, placement, pinning, machine, gripstreamPresent, selected, startedAt);
    clearTimeout(runDeadline);
    return;
  }
  for (const impl of impls) {
    if (impl.unavailable !== undefined && impl.name === 'nchan') console.log(`bench: note: nchan SKIPPED: ${impl.unavailable}`);
  }

  console.log(`bench: ${mode} run, ${impls.length} implementations, scenarios: ${options.scenarios.join(', ')}`);
  console.log(`bench: ${machine.cpuModel} × ${machine.cores}, Node ${machine.node}, ulimit -n ${machine.fdSoftLimit}, ${pinning}`);
  if (loadAtStart > 0.5 * machine.cores) {
    console.log(`bench: note: load average ${loadAtStart.toFixed(2)} — other work is running; wall-clock figures will be noisy.`);
  }
  for (const a of adjustments) console.log(`bench: note: ${a}`);

  const results: ScenarioResult[] = [];
  // Scenario-major order: all implementations run one scenario back to back (and
  // repetitions interleave), so a scenario's numbers are close in time and machine state.
  for (const scenario of MEASURED.filter((m) => options.scenarios.includes(m))) {
    const rounds: Map<string, ScenarioResult>[] = [];
    for (let round = 1; round <= roundsOf(scenario, options.repeat); round++) {
      const byImplementation = new Map<string, ScenarioResult>();
      rounds.push(byImplementation);
      for (const impl of impls) {
        const started = Date.now();
        const result = await runScenario(scenario, impl, placement, sizes);
        byImplementation.set(impl.name, result);
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        const label = options.repeat > 1 ? `${scenario} #${round}` : scenario;
        console.log(`  ${label.padEnd(14)} ${impl.name.padEnd(22)} ${secs.padStart(5)} s  ${describeResult(result)}`);
      }
    }
    results.push(...combineRounds(rounds, impls.map((i) => i.name), BASELINE));
  }
  // GRIP: the Writable through a real Pushpin, for the implementations that speak GRIP.
  const gripEvents = options.quick ? 300 : 2000;
  for (const impl of options.scenarios.includes('grip') ? impls : []) {
    const started = Date.now();
    const result = { ...(await runGrip(impl.name, gripEvents)), implementation: impl.name };
    results.push(result);
    if (result.status !== 'skipped') {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`  ${'grip'.padEnd(14)} ${impl.name.padEnd(22)} ${secs.padStart(5)} s  ${describeResult(result)}`);
    }
  }

  // Redis: gripstream's store and engine against plain XADD on the same redis-server.
  if (options.scenarios.includes('redis')) {
    const started = Date.now();
    const result = { ...(await runRedis(options.quick)), implementation: 'gripstream' };
    results.push(result);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`  ${'redis'.padEnd(14)} ${'gripstream'.padEnd(19)} ${secs.padStart(5)} s  ${result.status}`);
  }

  // Many instances: one process, Redis, Pushpin and socket.io's Redis adapter, side by side.
  if (options.scenarios.includes('cross-instance')) {
    const result = { ...(await runCrossInstance(options.quick, placement, sizes, (line) => console.log(line))), implementation: 'gripstream' };
    results.push(result);
  }

  const run: RunInfo = {
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    mode,
    machine,
    sizes,
    implementations: impls.map((i) => i.name),
    baseline: BASELINE,
    adjustments,
    pinning,
    repeat: options.repeat,
    loadAtStart,
  };
  const markdown = renderMarkdown(run, results);
  const partial = options.only !== undefined || mainScenarios.length !== SCENARIOS.length;
  const written = writeResults(run, results, markdown, partial);
  console.log('\n' + markdown);
  console.log(`bench: wrote ${written.join(', ')}`);
  if (options.scenarios.includes('scale')) {
    await runScaleScenario(options, placement, pinning, machine, gripstreamPresent, selected, new Date());
  }
  clearTimeout(runDeadline);
}

/** The opt-in scale scenario: its own implementations, report and result files. */
async function runScaleScenario(
  options: Options,
  placement: Placement,
  pinning: string,
  machine: MachineInfo,
  gripstreamPresent: boolean,
  selected: (i: ImplementationSpec) => boolean,
  startedAt: Date,
): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
  // BENCH_SCALE_PER_LOAD=N: at most N streams per load process (to try several at small N).
  const perLoad = Number(process.env['BENCH_SCALE_PER_LOAD'] ?? NaN);
  const setup = planScale(
    options.scaleStreams,
    reachableFdLimit,
    placement,
    perLoad >= 1 ? perLoad : undefined,
    options.scaleWorkers,
  );
  const impls = scaleImplementations(gripstreamPresent, setup.workers).filter(selected);
  console.log(
    `bench: scale: ${setup.streams.toLocaleString('en-US')} streams per implementation, ${setup.loadProcesses} load ` +
      `process(es), ${setup.workers} server worker(s), sources ${setup.sources.join(', ')}, ulimit -n ${setup.fdLimit}`,
  );
  for (const a of setup.adjustments) console.log(`bench: scale: note: ${a}`);
  const loads: number[] = [];
  const loadSampler = setInterval(() => loads.push(os.loadavg()[0]!), 5_000);
  const results: ScaleResult[] = [];
  for (const impl of impls) {
    if (impl.unavailable !== undefined) console.log(`bench: scale: ${impl.name} SKIPPED: ${impl.unavailable}`);
    const result = await runScale(impl, setup);
    results.push(result);
    console.log(`  scale          ${impl.name.padEnd(22)} ${(result.wallMs / 1000).toFixed(1).padStart(5)} s  ${describeScale(result)}`);
  }
  const run: ScaleRunInfo = {
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    machine,
    setup,
    askedStreams: options.scaleStreams,
    pinning,
    loadAtStart,
    baseline: BASELINE,
    systemLimits: systemLimits(),
    ...(loads.length > 0 ? { loadDuring: { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) } } : {}),
    ...(setup.workers > 1 ? onePerProcessFigures() : {}),
  };
  clearInterval(loadSampler);
  // Workers (one machine) and one process are different questions: each keeps its own latest.
  // The chart compares gripstream with nchan, the machine run's pair.
  const machineRun = setup.workers > 1;
  const base = machineRun ? 'scale-machine-latest' : 'scale-latest';
  const markdown = renderScaleMarkdown(run, results, machineRun ? SCALE_MACHINE_CHART_FILE : undefined);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(RESULTS_DIR + base + '.md', markdown);
  writeFileSync(RESULTS_DIR + base + '.json', JSON.stringify({ run, results }, null, 2) + '\n');
  if (machineRun) writeFileSync(RESULTS_DIR + SCALE_MACHINE_CHART_FILE, renderScaleChart(results, scaleChartTitle(run)));
  console.log('\n' + markdown);
  console.log(`bench: wrote bench/results/${base}.md, bench/results/${base}.json` + (machineRun ? `, bench/results/${SCALE_MACHINE_CHART_FILE}` : ''));
}

/** gripstream and the floor in one process, from the last one-process scale run (scale-latest.json). */
function onePerProcessFigures(): Pick<ScaleRunInfo, 'oneProcess'> {
  try {
    const last = JSON.parse(readFileSync(RESULTS_DIR + 'scale-latest.json', 'utf8')) as {
      run: { startedAt: string };
      results: ScaleResult[];
    };
    const g = last.results.find((r) => r.implementation === 'gripstream');
    const floor = last.results.find((r) => r.implementation === BASELINE);
    if (g === undefined) return {};
    return {
      oneProcess: {
        streams: g.streams,
        startedAt: String(last.run.startedAt),
        ...(g.broadcastCpuMicrosPerEvent !== undefined ? { broadcastCpuMicrosPerEvent: g.broadcastCpuMicrosPerEvent } : {}),
        ...(g.acceptCpuMicrosPerStream !== undefined ? { acceptCpuMicrosPerStream: g.acceptCpuMicrosPerStream } : {}),
        ...(floor?.acceptCpuMicrosPerStream !== undefined ? { floorAcceptCpuMicrosPerStream: floor.acceptCpuMicrosPerStream } : {}),
      },
    };
  } catch {
    return {};
  }
}

function describeScale(r: ScaleResult): string {
  const f = (v: number | undefined, d = 0): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
  const p99s = Object.values(r.loopDelay ?? {}).map((s) => s.p99Ms);
  const p99 = p99s.length > 0 ? Math.max(...p99s) : undefined;
  return (
    `${r.status.padEnd(10)} accept=${f(r.acceptMs)}ms rss/stream=${f(r.rssPerStream)} heap/stream=${f(r.heapPerStream)} ` +
    `broadcast=${f(r.broadcastMs)}ms cpu/event=${f(r.broadcastCpuMicrosPerEvent, 2)}µs reconnect=${f(r.reconnectMs)}ms` +
    `${r.caughtUp === undefined ? '' : r.caughtUp ? ' caught-up' : ' NOT-caught-up'} loopP99=${f(p99, 1)}ms` +
    `${r.note ? `  (${r.note})` : ''}`
  );
}

main().catch((err: unknown) => {
  console.error('bench: failed:', err);
  process.exit(1);
});
