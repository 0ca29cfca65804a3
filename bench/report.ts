/**
 * The Markdown report: machine, sizes, one table of absolute numbers with ratios to
 * raw-node, what did not complete and why, and the fairness choices behind the numbers.
 */
import type { MachineInfo } from './machine.ts';
import { METRICS, findResult, formatRatio, metricValue, ratioToBaseline, type MetricSpec } from './metrics.ts';
import { roundsOf } from './rounds.ts';
import { CROSS_GOALS, type CrossGoals, type CrossSizes, type CrossVariantResult } from './scenarios/cross-instance.ts';
import type { ScenarioResult } from './scenarios/types.ts';
import type { Sizes } from './sizes.ts';

export interface RunInfo {
  startedAt: Date;
  durationMs: number;
  mode: 'default' | 'quick';
  machine: MachineInfo;
  sizes: Sizes;
  implementations: string[];
  baseline: string;
  /** Why and how sizes or placement differ from the plan (fd limits, no pinning, …). */
  adjustments: string[];
  pinning: string;
  /** Best-of-N: each throughput and latency measurement was taken this many times. */
  repeat: number;
  /** 1-minute load average just before the run started (other work on the machine). */
  loadAtStart: number;
}

export function renderMarkdown(run: RunInfo, results: ScenarioResult[]): string {
  return [
    `# SSE fan-out benchmark (${run.mode} run)`,
    '',
    `Run ${run.startedAt.toISOString()}, took ${(run.durationMs / 1000).toFixed(0)} s. ` +
      'Produced by `npm run bench` (`bench/run.ts`); every implementation ran in this one ' +
      'invocation on the same sizes, so the ratios are side by side.',
    '',
    renderMachine(run),
    '',
    renderSizes(run.sizes, run.repeat),
    '',
    '## Results',
    '',
    `Each cell: absolute value (ratio to ${run.baseline}). ↑ = higher is better, ↓ = lower is better. ` +
      'A scenario counts only when every client received every event it should; otherwise the ' +
      'cell is marked **incomplete** and shows what was achieved.',
    '',
    renderTable(run, results, 'main'),
    '',
    '### Server CPU per delivered event',
    '',
    'CPU time (user + system) the server process used from the first publish until the last event ' +
      'arrived, divided by deliveries. Other processes competing for the core stretch wall-clock ' +
      'rates but barely move this, so on a busy machine these ratios are the steadier ones.',
    '',
    renderTable(run, results, 'cpu'),
    '',
    renderGrip(results),
    '',
    renderRedis(results),
    '',
    renderCrossInstance(results),
    '',
    renderProblems(results),
    renderCaveats(run, results),
  ].join('\n');
}

/** GRIP has no raw-node floor: ratios are to the reference, the peer that speaks GRIP. */
function renderGrip(results: ScenarioResult[]): string {
  const grip = results.filter((r) => r.scenario === 'grip' && r.status !== 'skipped');
  if (grip.length === 0) return '### GRIP (Pushpin)\n\nNot run: ' + (results.find((r) => r.scenario === 'grip')?.note ?? 'no GRIP implementation') + '.';
  const reference = grip.find((r) => r.implementation === 'reference')?.metrics.gripAccepted;
  const rows = grip.map((r) => {
    const accepted = r.metrics.gripAccepted;
    const ratio = accepted !== undefined && reference !== undefined ? ` (${(accepted / reference).toFixed(1)}× reference)` : '';
    const cell = accepted === undefined ? r.status : `${Math.round(accepted).toLocaleString('en-US')}${ratio}`;
    const delivered = r.metrics.gripDelivered === undefined ? '—' : Math.round(r.metrics.gripDelivered).toLocaleString('en-US');
    const flag = r.status === 'ok' ? '' : ` **${r.status}**${r.note ? `: ${r.note}` : ''}`;
    return `| ${r.implementation} | ${cell}${flag} | ${delivered} |`;
  });
  return [
    '### GRIP (Pushpin): the channel Writable through a real proxy',
    '',
    '| Implementation | Accepted by Pushpin (events/s) ↑ | Delivered to the client (events/s) ↑ |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The Redis path: ratios to plain pipelined XADD and to one process, all from the same run. */
function renderRedis(results: ScenarioResult[]): string {
  const r = results.find((x) => x.scenario === 'redis');
  if (r === undefined || r.status === 'skipped') return '### Redis\n\nNot run' + (r?.note ? `: ${r.note}` : '') + '.';
  const m = r.metrics;
  const n = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
  const x = (v: number | undefined) => (v === undefined || m.redisXadd === undefined ? '—' : `${(v / m.redisXadd).toFixed(2)}×`);
  const ms = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(1)} ms`);
  return [
    '### Redis: the shared store and the engine between instances (one private redis-server)',
    '',
    '| Path | Events/s ↑ | vs pipelined XADD |',
    '| --- | --- | --- |',
    `| plain XADD, pipelines of 1,000 (the floor) | ${n(m.redisXadd)} | 1.00× |`,
    `| publish awaited one by one | ${n(m.redisAwaited)} | ${x(m.redisAwaited)} |`,
    `| 10,000 concurrent publishes | ${n(m.redisConcurrent)} | ${x(m.redisConcurrent)} |`,
    `| publishEvents of 1,000 | ${n(m.redisBatch)} | ${x(m.redisBatch)} |`,
    '',
    '| Delivery | Delivered events/s ↑ | p99 publish→receive ↓ |',
    '| --- | --- | --- |',
    `| one process (no Redis) | ${n(m.localDelivered)} | ${ms(m.localP99)} |`,
    `| instance B publishes, instance A's clients receive (Redis engine) | ${n(m.crossDelivered)} | ${ms(m.crossP99)} |`,
    `| the same through a Redis Cluster (3 masters + 3 replicas, same machine) | ${n(m.clusterCrossDelivered)} | ${ms(m.clusterCrossP99)} |`,
    '',
    '| One Redis vs a Redis Cluster (same machine) | one node | 3 masters |',
    '| --- | --- | --- |',
    `| concurrent publishes over 64 channels (events/s ↑) | ${n(m.nodeSpread)} | ${n(m.clusterSpread)} |`,
    `| cross-instance delivery (events/s ↑) | ${n(m.nodeCrossDelivered)} | ${n(m.clusterCrossDelivered)} |`,
    ...[1, 1000, 10000].map(
      (k) => `| one awaited publish with ${k.toLocaleString('en-US')} channels holding events (µs ↓) | ${n(m[`nodePublishUs${k}`])} | ${n(m[`clusterPublishUs${k}`])} |`,
    ),
    ...(r.status === 'ok' ? [] : ['', `**${r.status}**: ${r.note ?? ''}`]),
  ].join('\n');
}

const CROSS_LABELS: Record<CrossVariantResult['variant'], string> = {
  'one-process': '(a) one process: every client, publishes in that process',
  redis: '(b) Redis engine: 2 instances + a job process publishing',
  pushpin: '(c) Pushpin: 2 gripstream origins, a third process publishing',
  'socket.io': '(d) socket.io 4 + @socket.io/redis-adapter: 2 servers + an emitting third',
};

/** Issue 15's comparison: the same fan-out in one process, through Redis, Pushpin and socket.io. */
function renderCrossInstance(results: ScenarioResult[]): string {
  const r = results.find((x) => x.scenario === 'cross-instance');
  if (r === undefined) return '### Many instances\n\nNot run.';
  const details = r.details as { sizes: CrossSizes; variants: CrossVariantResult[]; goals: CrossGoals; loadAverage: number[] } | undefined;
  if (details === undefined) return `### Many instances\n\n${r.status}${r.note ? `: ${r.note}` : ''}`;
  const { sizes, variants, goals, loadAverage } = details;
  const local = variants.find((v) => v.variant === 'one-process');
  const n = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
  const ms = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)} ms`);
  const ratio = (v: number | undefined) => (v === undefined || !local?.delivered ? '' : ` (${(v / local.delivered).toFixed(2)}×)`);
  const rows = variants.map((v) => {
    const flag = v.status === 'ok' ? '' : ` **${v.status}**`;
    const cpu = v.cpuMicrosPerDelivery === undefined ? '—' : `${v.cpuMicrosPerDelivery.toFixed(2)} µs`;
    return `| ${CROSS_LABELS[v.variant]}${flag} | ${n(v.delivered)}${ratio(v.delivered)} | ${cpu} | ${ms(v.p50)} | ${ms(v.p99)} | ${ms(v.p50Loaded)} | ${ms(v.p99Loaded)} |`;
  });
  const goal = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? '**met**' : '**not met**');
  const overSio = goals.redisOverSocketIo;
  const overLocal = goals.redisP99OverLocalMs;
  return [
    '### Many instances: one process, Redis, Pushpin, socket.io (issue 15)',
    '',
    `${sizes.clients} clients on one channel, split over two instances (Pushpin: all through the proxy), ` +
      `publishes from a third process. Delivered = deliveries ÷ (first publish → last receipt) for ` +
      `${sizes.throughput.events} events published back-to-back (each \`publishEvent\` awaited; socket.io's \`emit\` ` +
      `returns nothing to await); latency: one event every ${sizes.latency.intervalMs} ms, ${sizes.latency.measuredEvents} ` +
      `measured after ${sizes.latency.warmupEvents} warm-up, to ${sizes.latency.clients} clients (the goal's: a load the ` +
      `one-process floor carries without queueing) and to all ${sizes.latencyLoaded?.clients ?? sizes.clients} (loaded: ` +
      `there the floor alone spends most of its core, so p99 is mostly queueing). Latency runs unpinned (every variant's processes and the load client on all cores): pinned, redis-server, both instances and the job shared one core and queued behind each other's bursts. Fresh processes per phase; instances and publisher on the ` +
      `server CPU with redis-server and Pushpin, the load client alone on the other (throughput phase). Server-side CPU: the Node ` +
      `instances and publisher together (user + system), throughput phase, per delivery (Redis and Pushpin not ` +
      `counted). Load average when the ` +
      `scenario ended: ${loadAverage.map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    `| Setup | Delivered events/s ↑ (vs one process) | Server-side CPU / delivery ↓ | p50 ↓ | p99 ↓ | p50, ${sizes.latencyLoaded?.clients ?? sizes.clients} clients ↓ | p99, ${sizes.latencyLoaded?.clients ?? sizes.clients} clients ↓ |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `- Goal: (b) delivers ≥ ${CROSS_GOALS.minRedisOverSocketIo}× (d): ${overSio === undefined ? '—' : `${overSio.toFixed(2)}×`}, ` +
      goal(overSio === undefined ? undefined : overSio >= CROSS_GOALS.minRedisOverSocketIo) + '.',
    `- Goal: (b)'s p99 ≤ (a)'s p99 + ${CROSS_GOALS.maxRedisP99OverLocalMs} ms: ${overLocal === undefined ? '—' : `${overLocal >= 0 ? '+' : ''}${overLocal.toFixed(2)} ms`}, ` +
      goal(overLocal === undefined ? undefined : overLocal <= CROSS_GOALS.maxRedisP99OverLocalMs) + '.',
    ...variants.filter((v) => v.note).map((v) => `- ${v.variant}: ${v.note}`),
  ].join('\n');
}

function renderMachine(run: RunInfo): string {
  const m = run.machine;
  const libs = Object.entries(m.libraries)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return [
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; ${m.totalMemGiB} GiB RAM`,
    `- ${m.os}; Node ${m.node}`,
    `- File descriptors (ulimit -n): soft ${m.fdSoftLimit}, hard ${m.fdHardLimit}`,
    `- Placement: ${run.pinning}`,
    `- Load average (1 min) when the run started: ${run.loadAtStart.toFixed(2)}` +
      (run.loadAtStart > 0.5 * m.cores
        ? ' — **other work was running on this machine; wall-clock figures are noisy, prefer the CPU table**'
        : ''),
    `- Libraries: ${libs}`,
    ...run.adjustments.map((a) => `- **Adjusted:** ${a}`),
  ].join('\n');
}

function renderSizes(s: Sizes, repeat: number): string {
  const latencyEvents = s.latency.measuredEvents;
  return [
    '## Scenarios',
    '',
    `1. **Broadcast**: ${s.broadcast.clients} clients on one channel, ${s.broadcast.events} events published ` +
      'back-to-back; delivered events/s = events received by all clients ÷ (first publish → last receipt).',
    `2. **Per-user channels**: ${s.perUser.clients} clients each on its own channel, ${s.perUser.events} events ` +
      `(about ${s.perUser.payloadBytes} B of JSON each) round-robin over the channels, each \`await\`ed; same rate. Publishing stops at ${s.perUser.deadlineMs / 1000} s ` +
      `(broadcast: ${s.broadcast.deadlineMs / 1000} s); whatever was delivered by then is reported as incomplete.`,
    `3. **Idle memory**: ${s.idleMemory.connections} idle connections on one channel; (heapUsed, rss after ` +
      'two forced GCs with N connected − before connecting) ÷ N, measured by the server process.',
    `4. **Latency**: ${s.latency.clients} clients on one channel, one event every ${s.latency.intervalMs} ms; ` +
      `p50/p99 of publish → receive over ${latencyEvents} events × ${s.latency.clients} clients, after ` +
      `${s.latency.warmupEvents} warm-up events.`,
    '5. **GRIP (Pushpin)**: one client through a private Pushpin; the channel Writable is fed by `pipeline()` from a fast Readable; accepted events/s = events ÷ time for the pipeline to finish (backpressure = proxy acceptance), counted only when the client got every event.',
    '',
    `Back-to-back publishing yields to the event loop every ${s.yieldEvery} events.` +
      (repeat > 1
        ? ` Broadcast ran ${repeat} rounds, per-user ${roundsOf('per-user', repeat)} and latency ${roundsOf('latency', repeat)} (each round runs every implementation in turn); ` +
          'each cell shows the median value, and each ratio is the median of the per-round ratios to raw-node.'
        : ''),
  ].join('\n');
}

function renderTable(run: RunInfo, results: ScenarioResult[], table: MetricSpec['table']): string {
  const metrics = METRICS.filter((m) => m.table === table);
  const header = ['Implementation', ...metrics.map((m) => `${m.label} (${m.unit}) ${m.better === 'higher' ? '↑' : '↓'}`)];
  const rows = run.implementations.map((impl) => [
    impl === run.baseline ? `**${impl}**` : impl,
    ...metrics.map((metric) => renderCell(results, impl, run.baseline, metric)),
  ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function renderCell(results: ScenarioResult[], impl: string, baseline: string, metric: MetricSpec): string {
  const result = findResult(results, impl, metric.scenario);
  if (result === undefined) return '—';
  if (result.status === 'skipped') return 'skipped';
  if (result.status === 'failed') return '**failed**';
  const value = metricValue(results, impl, metric);
  if (value === undefined) return '—';
  const ratio = ratioToBaseline(results, impl, baseline, metric);
  const text = `${metric.format(value)}${ratio === undefined ? '' : ` (${formatRatio(ratio)})`}`;
  return result.status === 'incomplete' ? `${text} **incomplete**` : text;
}

/** Every result that is not plainly ok, or that carries a caveat. */
function renderProblems(results: ScenarioResult[]): string {
  const noted = results.filter(
    (r) => r.scenario !== 'grip' && r.scenario !== 'cross-instance' && (r.status !== 'ok' || r.note !== undefined),
  );
  if (noted.length === 0) return '';
  return [
    '### Notes on individual results',
    '',
    ...noted.map((r) => `- ${r.implementation} / ${r.scenario}: ${r.status}${r.note ? ` — ${r.note}` : ''}`),
    '',
    '',
  ].join('\n');
}

/**
 * How busy the load client was, per scenario: near 100 % would mean the figures measure
 * the client, not the server.
 */
function clientUtilisation(results: ScenarioResult[]): string[] {
  const byScenario = new Map<string, number[]>();
  for (const r of results) {
    const cpu = r.details?.['clientCpuMs'];
    const wall = r.details?.['clientAwaitWallMs'];
    if (typeof cpu !== 'number' || typeof wall !== 'number' || wall <= 0) continue;
    byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), (100 * cpu) / wall]);
  }
  return [...byScenario].map(([scenario, shares]) => {
    const low = Math.round(Math.min(...shares));
    const high = Math.round(Math.max(...shares));
    return `${scenario} ${low === high ? low : `${low}–${high}`} %`;
  });
}

function renderCaveats(run: RunInfo, results: ScenarioResult[]): string {
  const utilisation = clientUtilisation(results);
  return [
    '## How it is measured, and fairness choices',
    '',
    `- Server and load client are separate processes (${run.pinning}); each (implementation, scenario) ` +
      'pair gets fresh processes. The client is one process holding every socket: raw `net` sockets, ' +
      'a minimal chunked-HTTP reader and a byte-level SSE scanner that counts complete events named `b` ' +
      '(so `stream-open`, keep-alives, comments and `retry:` lines never count).',
    '- Every implementation sits behind the same plain `node:http` server and publishing loop, gets the ' +
      'same data object `{"n":<i>,"t":<publish time>}` and serialises it itself (raw-node: one ' +
      '`JSON.stringify` per publish, one pre-encoded string written to every subscriber).',
    '- Publishing awaits each `publishEvent` promise where the library returns one (reference, gripstream). ' +
      'Libraries that coalesce writes within a tick (gripstream) benefit from back-to-back publishing; ' +
      'the latency scenario (one event per timer tick) shows the single-event path.',
    '- Library defaults are kept unless noted: reference has a 20 s keep-alive timer per connection and ' +
      'no way to turn it off; better-sse has a 10 s keep-alive timer per session and adds a random UUID ' +
      '`id:` to every event; sse-channel keeps history only for events with an `id` (none here) and pings ' +
      'per channel every 20 s. gripstream runs with `{ history: false }`, and again with its default ' +
      'history as `gripstream+history`.',
    ...(run.implementations.includes('nchan')
      ? [
          '- nchan (nginx-light + libnginx-mod-nchan, one worker, default settings, EventSource subscriber) runs in the ' +
            'idle-memory and latency scenarios only. Its memory per connection is the nginx worker\'s RSS (no heap); ' +
            'each event is one HTTP `POST` to its publisher location, made by a Node process on the server CPU, and its ' +
            'latency includes that request.',
        ]
      : []),
    ...(utilisation.length > 0
      ? [
          `- Load client CPU use while events were flowing (user + system, of one core): ${utilisation.join(', ')}. ` +
            'Most of it is the kernel reading sockets. In the latency scenario each event is 1,000 small ' +
            'reads on the client and 1,000 small writes on the server, so on a small VM both sides run close ' +
            'to a full core and latency includes the time to fan one event out to all clients.',
        ]
      : []),
    '- Latency compares timestamps from two processes; each process anchors `performance.now()` to the ' +
      'system clock (bench/clock.ts), so the error is well below the reported resolution.',
    '- Memory per connection includes everything the server holds for an open stream (socket, HTTP ' +
      'response, library objects, timers) and is noisy in RSS; heap is the steadier figure.',
    '',
  ].join('\n');
}
