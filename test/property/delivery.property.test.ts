/**
 * Delivery property: random interleavings of publishes (single events and batches, with and
 * without custom ids, through every publish API), connects, disconnects and resumes with
 * Last-Event-ID (header or query), over single- and multi-channel routes, through a real
 * Express server on node:http, with real clients (raw sockets and `eventsource`), over the
 * in-memory history and a real Redis. After every step each connected client must have seen
 * exactly what `DeliveryModel` says it is owed: every event of its channels once, in publish
 * order, or `history-truncated` first — never a silent gap, a duplicate or a stray event.
 *
 * Fixed seed by default; `FC_SEED=<n> FC_RUNS=<n>` for other or more runs (see README).
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventStream, type ServerSentEvent } from '../../src/index.js';
import { runCleanups } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { listen, type TestServer } from '../support/resume-helpers.js';
import { SseClient } from '../support/sse.js';
import { pollUntil } from '../support/wait.js';
import { DeliveryModel, TRUNCATED, type Seen, type SessionStart } from './delivery-model.js';

const SEED = Number(process.env.FC_SEED ?? 20261201);
const RUNS = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);
/** Bound of every wait for owed events: far above loopback latency, even on a loaded machine. */
const WAIT_MS = 4000;

/** What the runs exercised, printed at the end: a property that never resumes proves little. */
const tally = { runs: 0, published: 0, received: 0, connects: 0, resumes: 0, truncatedResumes: 0 };

// ---------------------------------------------------------------------------------------------
// The scenario: what the generator picks, as plain data (shrinks well, prints readably).

const CHANNELS = ['a', 'b', 'é'] as const;
type Channel = (typeof CHANNELS)[number];

interface Route {
  path: string;
  channels: readonly Channel[];
}

const ROUTES: readonly Route[] = [
  { path: '/one/a', channels: ['a'] },
  { path: '/one/b', channels: ['b'] },
  { path: `/t/${encodeURIComponent('é')}`, channels: ['é'] }, // '{ch}' from a route param
  { path: '/q?ch=b', channels: ['b'] }, // '{ch}' from the query
  { path: '/ab', channels: ['a', 'b'] },
  { path: '/abe', channels: ['a', 'b', 'é'] },
  { path: `/fn?chs=a,${encodeURIComponent('é')}`, channels: ['a', 'é'] }, // a channel builder
];

const TYPES = ['m', 'message', 'n'] as const;
const CUSTOM_ID_PREFIXES = ['order-', 'x', 'é-', '7'] as const;

interface EventSpec {
  type: (typeof TYPES)[number];
  custom: boolean;
}

type Api = 'publishEvent' | 'publishEvents' | 'publisher' | 'writable';
type ClientKind = 'raw' | 'eventsource';

type Action =
  | { op: 'publish'; channel: Channel; events: EventSpec[]; api: Api }
  | { op: 'connect'; client: number; route: number; kind: ClientKind }
  | { op: 'disconnect'; client: number; how: 'destroy' | 'end' }
  | { op: 'resume'; client: number; via: 'header' | 'query' }
  | { op: 'connect-racing-publish'; client: number; route: number; kind: ClientKind; channel: Channel; events: EventSpec[] }
  | { op: 'resume-racing-publish'; client: number; via: 'header' | 'query'; channel: Channel; events: EventSpec[] }
  | { op: 'disconnect-racing-publish'; client: number; channel: Channel; events: EventSpec[] }
  | { op: 'abort'; route: number; when: 'at-once' | 'after-open' };

interface Scenario {
  maxEvents: number;
  actions: Action[];
}

const CLIENTS = 3;
const clientArb = fc.nat({ max: CLIENTS - 1 });
const channelArb = fc.constantFrom(...CHANNELS);
const kindArb = fc.constantFrom<ClientKind>('raw', 'raw', 'eventsource');
const eventsArb = (min: number): fc.Arbitrary<EventSpec[]> =>
  fc.array(fc.record({ type: fc.constantFrom(...TYPES), custom: fc.boolean() }), { minLength: min, maxLength: 5 });
const viaArb = fc.constantFrom<'header' | 'query'>('header', 'header', 'query');

function actionArb(routeArb: fc.Arbitrary<number>): fc.Arbitrary<Action> {
  return fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('publish' as const), channel: channelArb, events: eventsArb(0), api: fc.constantFrom<Api>('publishEvent', 'publishEvents', 'publisher', 'writable') }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('connect' as const), client: clientArb, route: routeArb, kind: kindArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('disconnect' as const), client: clientArb, how: fc.constantFrom<'destroy' | 'end'>('destroy', 'end') }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('resume' as const), client: clientArb, via: viaArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('connect-racing-publish' as const), client: clientArb, route: routeArb, kind: kindArb, channel: channelArb, events: eventsArb(1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resume-racing-publish' as const), client: clientArb, via: viaArb, channel: channelArb, events: eventsArb(1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('disconnect-racing-publish' as const), client: clientArb, channel: channelArb, events: eventsArb(1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), route: routeArb, when: fc.constantFrom<'at-once' | 'after-open'>('at-once', 'after-open') }) },
  );
}

function scenarioArb(routes: readonly number[]): fc.Arbitrary<Scenario> {
  return fc.record({
    // Small bounds make evictions (and so history-truncated) common; 1000 is the default.
    maxEvents: fc.constantFrom(2, 4, 1000),
    actions: fc.array(actionArb(fc.constantFrom(...routes)), { minLength: 1, maxLength: 30, size: 'max' }),
  });
}

const ALL_ROUTES = ROUTES.map((_, i) => i);
const SINGLE_CHANNEL_ROUTES = ALL_ROUTES.filter((i) => ROUTES[i]!.channels.length === 1);

/** How custom ids are made: unique over the whole stream, or counted per channel (room-A's '1' and room-B's '1'). */
type IdScheme = 'unique' | 'per-channel';

function describeEvents(events: readonly EventSpec[]): string {
  return `[${events.map((e) => e.type + (e.custom ? '#id' : '')).join(' ')}]`;
}

function describeAction(action: Action): string {
  const route = (i: number): string => ROUTES[i]!.path;
  switch (action.op) {
    case 'publish':
      return `publish ${action.channel} ${describeEvents(action.events)} via ${action.api}`;
    case 'connect':
      return `c${action.client} connects to ${route(action.route)} (${action.kind})`;
    case 'disconnect':
      return `c${action.client} disconnects (${action.how})`;
    case 'resume':
      return `c${action.client} reconnects (Last-Event-ID in ${action.via})`;
    case 'connect-racing-publish':
      return `c${action.client} connects to ${route(action.route)} (${action.kind}) while ${action.channel} gets ${describeEvents(action.events)}`;
    case 'resume-racing-publish':
      return `c${action.client} reconnects (${action.via}) while ${action.channel} gets ${describeEvents(action.events)}`;
    case 'disconnect-racing-publish':
      return `c${action.client} drops while ${action.channel} gets ${describeEvents(action.events)}`;
    case 'abort':
      return `someone opens ${route(action.route)} and drops it ${action.when}`;
  }
}

function describeScenario(scenario: Scenario): string {
  return [`maxEvents ${scenario.maxEvents}`, ...scenario.actions.map((a, i) => `${i + 1}. ${describeAction(a)}`)].join('\n  ');
}

// ---------------------------------------------------------------------------------------------
// Real clients behind one interface.

interface Wire {
  /** Events after `stream-open`, as received. */
  seen(): Seen[];
  /** Resolves once `stream-open` arrived. */
  opened(): Promise<void>;
  /** Resolves once `check()` holds, re-checked as bytes arrive; rejects after `ms`. */
  waitFor(check: () => boolean, what: string, ms: number): Promise<void>;
  close(how: 'destroy' | 'end'): void;
}

async function openRaw(port: number, path: string, headers: Record<string, string>): Promise<Wire> {
  const client = await RawClient.get(port, { path, headers });
  const seen = (): Seen[] => {
    const [open, ...rest] = client.events;
    if (open !== undefined && open.event !== 'stream-open') {
      throw new Error(`first event is ${JSON.stringify(open.event)}, not stream-open (status ${client.head?.status})`);
    }
    return rest.map((e) => ({ type: e.event ?? 'message', data: e.data, id: e.id }));
  };
  return {
    seen,
    opened: async () => {
      await client.waitFor((c) => c.events.length > 0 || c.closed || (c.head !== undefined && c.head.status !== 200), 'stream-open', WAIT_MS);
      if (client.events[0]?.event !== 'stream-open') {
        throw new Error(`no stream-open: status ${client.head?.status}, body ${JSON.stringify(client.bodyText.slice(0, 200))}`);
      }
    },
    waitFor: (check, what, ms) => client.waitFor(() => check(), what, ms),
    close: (how) => (how === 'end' ? client.socket.end() : client.destroy()),
  };
}

function openEventSource(url: string, headers: Record<string, string>): Wire {
  const client = new SseClient(url, { types: [...TYPES, TRUNCATED], headers: Object.keys(headers).length > 0 ? headers : undefined });
  const seen = (): Seen[] => {
    if (client.opens > 1) throw new Error('eventsource reconnected by itself: the server ended the stream');
    const [open, ...rest] = client.events;
    if (open !== undefined && open.type !== 'stream-open') throw new Error(`first event is ${open.type}, not stream-open`);
    // EventSource keeps the previous id for an event without one; history-truncated carries none.
    return rest.map((e) => ({ type: e.type, data: e.data, id: e.type === TRUNCATED ? undefined : e.lastEventId }));
  };
  return {
    seen,
    opened: async () => {
      await client.nextEvent('stream-open', WAIT_MS);
    },
    waitFor: (check, what, ms) => client.waitFor(() => check(), what, ms),
    close: () => client.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// One run: a fresh EventStream and server, the actions in order, then the final checks.

interface Session {
  wire: Wire;
  start: SessionStart;
  truncationSeen?: boolean;
}

interface ClientState {
  route: Route;
  kind: ClientKind;
  session: Session | undefined;
  /** The id and log index of the last event received (what EventSource would resume from). */
  lastId: string | undefined;
  lastIndex: number | undefined;
  /** Since the last fresh start or truncation: per channel, what was received, and from where all is owed. */
  chain: Map<string, Set<number>>;
  owedFrom: Map<string, number>;
}

class Run {
  readonly model: DeliveryModel;
  private readonly clients = new Map<number, ClientState>();
  private customIds = 0;
  private readonly perChannelIds = new Map<Channel, number>();

  constructor(
    readonly es: EventStream,
    readonly server: TestServer,
    maxEvents: number,
    private readonly runId: string,
    private readonly ids: IdScheme,
  ) {
    this.model = new DeliveryModel(maxEvents);
  }

  async step(action: Action): Promise<void> {
    switch (action.op) {
      case 'publish':
        return this.publishAndSettle(action.channel, action.events, action.api);
      case 'connect':
        return this.connect(action.client, ROUTES[action.route]!, action.kind);
      case 'disconnect':
        return this.disconnect(action.client, action.how);
      case 'resume':
        return this.resume(action.client, action.via);
      case 'connect-racing-publish':
        return this.connect(action.client, ROUTES[action.route]!, action.kind, action);
      case 'resume-racing-publish':
        return this.resume(action.client, action.via, action);
      case 'disconnect-racing-publish':
        return this.disconnectRacing(action.client, action.channel, action.events);
      case 'abort':
        return this.abort(ROUTES[action.route]!, action.when);
    }
  }

  /** Every connected client caught up, then all gone, and nothing left subscribed. */
  async finish(): Promise<void> {
    for (const [name, client] of this.clients) {
      if (client.session === undefined) continue;
      await this.settle(name, client);
      this.absorb(client);
    }
    for (const client of this.clients.values()) {
      client.session?.wire.close('destroy');
      client.session = undefined;
    }
    await pollUntil(() => this.es.stats().connections === 0, WAIT_MS, `stats().connections back to 0 (${JSON.stringify(this.es.stats())})`);
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.session?.wire.close('destroy');
  }

  private toEvents(channel: Channel, specs: readonly EventSpec[]): ServerSentEvent[] {
    return specs.map((spec) => {
      const event: ServerSentEvent = { event: spec.type };
      if (spec.custom && this.ids === 'unique') {
        const n = this.customIds++;
        event.id = `${CUSTOM_ID_PREFIXES[n % CUSTOM_ID_PREFIXES.length]}${this.runId}${n}`;
      } else if (spec.custom) {
        const n = (this.perChannelIds.get(channel) ?? 0) + 1;
        this.perChannelIds.set(channel, n);
        event.id = String(n);
      }
      return event;
    });
  }

  /** Adds the events to the model, then publishes them through `api`. */
  private startPublish(channel: Channel, specs: readonly EventSpec[], api: Api = 'publishEvents'): Promise<void> {
    const events = this.toEvents(channel, specs);
    tally.published += events.length;
    const published = this.model.publish(
      channel,
      events.map((e) => ({ type: e.event, customId: e.id })),
    );
    this.widenPendingResumes();
    const wire: ServerSentEvent[] = events.map((e, i) => ({ ...e, data: { t: published[i]!.tag } }));
    const { es } = this;
    switch (api) {
      case 'publishEvent':
        return (async () => {
          for (const event of wire) await es.publishEvent(channel, event);
        })();
      case 'publishEvents':
        return es.publishEvents(channel, wire);
      case 'publisher':
        return es.getChannelPublisher(channel).publishEvents(wire);
      case 'writable':
        return new Promise<void>((resolve, reject) => {
          const writable = es.createChannelWritable(channel);
          writable.on('error', reject);
          writable.on('finish', resolve);
          for (const event of wire) writable.write(event);
          writable.end();
        });
    }
  }

  /**
   * A resumed session whose replay has not arrived may not have read history yet (Redis answers
   * late): what this publish evicts may still turn its replay into a truncated one.
   */
  private widenPendingResumes(): void {
    for (const client of this.clients.values()) {
      const start = client.session?.start;
      if (start?.kind !== 'resume' || client.lastIndex === undefined || client.session!.wire.seen().length > 0) continue;
      const now = this.model.resumeStart(client.route.channels, start.after);
      start.mayTruncate ||= now.mayTruncate;
      start.keptFrom = now.keptFrom;
    }
  }

  private async publishAndSettle(channel: Channel, specs: readonly EventSpec[], api: Api): Promise<void> {
    await this.startPublish(channel, specs, api);
    for (const [name, client] of this.clients) if (client.session !== undefined) await this.settle(name, client);
  }

  private async open(client: ClientState, lastEventId: string | undefined, via: 'header' | 'query'): Promise<Wire> {
    let path = client.route.path;
    const headers: Record<string, string> = {};
    if (lastEventId !== undefined && via === 'header') headers['Last-Event-ID'] = lastEventId;
    if (lastEventId !== undefined && via === 'query') {
      path += `${path.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}`;
    }
    if (client.kind === 'eventsource') return openEventSource(this.server.url + path, headers);
    return openRaw(this.server.port, path, headers);
  }

  private async connect(
    name: number,
    route: Route,
    kind: ClientKind,
    racing?: { channel: Channel; events: EventSpec[] },
  ): Promise<void> {
    if (this.clients.get(name)?.session !== undefined) return;
    const client: ClientState = { route, kind, session: undefined, lastId: undefined, lastIndex: undefined, chain: new Map(), owedFrom: new Map() };
    this.clients.set(name, client);
    const lo = this.model.log.length;
    const publishing = racing === undefined ? Promise.resolve() : this.startPublish(racing.channel, racing.events);
    const wire = await this.open(client, undefined, 'header');
    await Promise.all([wire.opened(), publishing]);
    const start: SessionStart = { kind: 'fresh', lo, hi: this.model.log.length };
    tally.connects++;
    client.session = { wire, start };
    this.restartChain(client, (channel) => this.model.owed(channel, start, false)[0] ?? this.model.log.length);
    await this.settleAll();
  }

  private async resume(
    name: number,
    via: 'header' | 'query',
    racing?: { channel: Channel; events: EventSpec[] },
  ): Promise<void> {
    const client = this.clients.get(name);
    if (client === undefined) return;
    // A connected client drops first, as an EventSource does when its connection breaks.
    if (client.session !== undefined) await this.disconnect(name, 'destroy');
    if (client.lastIndex === undefined) {
      // Nothing received yet: EventSource would reconnect without Last-Event-ID.
      return this.connect(name, client.route, client.kind, racing);
    }
    this.checkChain(name, client, client.lastIndex);
    const start = this.model.resumeStart(client.route.channels, client.lastIndex);
    let publishing = Promise.resolve();
    if (racing !== undefined) {
      publishing = this.startPublish(racing.channel, racing.events);
      // The store may read before or after the racing publish evicts: either answer is right.
      const after = this.model.resumeStart(client.route.channels, client.lastIndex);
      start.mayTruncate ||= after.mayTruncate;
      start.keptFrom = after.keptFrom;
    }
    const wire = await this.open(client, client.lastId, via);
    await Promise.all([wire.opened(), publishing]);
    client.session = { wire, start };
    await this.settle(name, client);
    tally.resumes++;
    this.absorb(client);
    await this.settleAll();
  }

  private async disconnect(name: number, how: 'destroy' | 'end'): Promise<void> {
    const client = this.clients.get(name);
    if (client?.session === undefined) return;
    await this.settle(name, client);
    this.absorb(client);
    client.session.wire.close(how);
    client.session = undefined;
  }

  private async disconnectRacing(name: number, channel: Channel, specs: readonly EventSpec[]): Promise<void> {
    const client = this.clients.get(name);
    if (client?.session === undefined) {
      await this.publishAndSettle(channel, specs, 'publishEvents');
      return;
    }
    const publishing = this.startPublish(channel, specs);
    client.session.wire.close('destroy');
    await publishing;
    // Whatever arrived before the drop must still be right; the rest is owed on resume.
    const verdict = this.model.judge(client.route.channels, client.session.start, client.session.wire.seen());
    if (verdict.error !== undefined) throw new Error(`c${name}: ${verdict.error}`);
    this.absorb(client);
    client.session = undefined;
    await this.settleAll();
  }

  private async abort(route: Route, when: 'at-once' | 'after-open'): Promise<void> {
    const client = await RawClient.get(this.server.port, { path: route.path });
    if (when === 'after-open') await client.waitFor((c) => c.events.length > 0, 'stream-open', WAIT_MS);
    client.destroy();
  }

  private async settleAll(): Promise<void> {
    for (const [name, client] of this.clients) if (client.session !== undefined) await this.settle(name, client);
  }

  /** Waits until the client has everything it is owed; throws at the first wrong event. */
  private async settle(name: number, client: ClientState): Promise<void> {
    const session = client.session!;
    const judge = () => this.model.judge(client.route.channels, session.start, session.wire.seen());
    try {
      await session.wire.waitFor(() => {
        const verdict = judge();
        return verdict.error !== undefined || verdict.caughtUp;
      }, 'owed events', WAIT_MS);
    } catch {
      // Timed out: say what was owed and what came.
    }
    const verdict = judge();
    if (verdict.error !== undefined) throw new Error(`c${name} (${client.route.path}): ${verdict.error}`);
    if (!verdict.caughtUp) {
      const owed = client.route.channels.map((ch) => `${ch}: owed ${this.model.owed(ch, session.start, verdict.truncated).map((i) => this.model.describe(i)).join(',') || 'nothing'}, got ${verdict.received.get(ch)!.map((i) => this.model.describe(i)).join(',') || 'nothing'}`);
      throw new Error(`c${name} (${client.route.path}): silent drop, not caught up after ${WAIT_MS} ms (${owed.join('; ')}${session.start.kind === 'resume' && session.start.mustTruncate && !verdict.truncated ? '; history-truncated owed' : ''})`);
    }
  }

  /** Records what the session received into the client's chain and resume position. */
  private absorb(client: ClientState): void {
    const session = client.session!;
    const verdict = this.model.judge(client.route.channels, session.start, session.wire.seen());
    // A truncated replay may arrive after later steps (a late history read): the chain of
    // owed events restarts from it whenever it shows.
    if (verdict.truncated && !session.truncationSeen) {
      session.truncationSeen = true;
      tally.truncatedResumes++;
      const start = session.start;
      this.restartChain(client, (channel) => this.model.owed(channel, start, true)[0] ?? this.model.log.length);
    }
    for (const [channel, indices] of verdict.received) {
      tally.received += indices.length;
      let set = client.chain.get(channel);
      if (set === undefined) client.chain.set(channel, (set = new Set()));
      for (const index of indices) set.add(index);
    }
    const last = session.wire.seen().filter((e) => e.type !== TRUNCATED).at(-1);
    if (last !== undefined) {
      const tag = (JSON.parse(last.data) as { t: string }).t;
      client.lastId = last.id;
      client.lastIndex = this.model.tagged(tag)!.index;
    }
  }

  private restartChain(client: ClientState, owedFrom: (channel: string) => number): void {
    client.chain = new Map();
    client.owedFrom = new Map(client.route.channels.map((channel) => [channel, owedFrom(channel)]));
  }

  /** No event may fall between two sessions: all owed up to the resume point was received. */
  private checkChain(name: number, client: ClientState, upTo: number): void {
    for (const channel of client.route.channels) {
      const from = client.owedFrom.get(channel) ?? Infinity;
      const got = client.chain.get(channel) ?? new Set<number>();
      const lost = this.model.indicesOf(channel).filter((i) => i >= from && i <= upTo && !got.has(i));
      if (lost.length > 0) {
        throw new Error(`c${name}: ${lost.map((i) => this.model.describe(i)).join(',')} lost between sessions (before its Last-Event-ID ${this.model.describe(upTo)}, never received)`);
      }
    }
  }
}

function makeApp(es: EventStream): express.Express {
  const app = express();
  app.get('/one/a', es('a'));
  app.get('/one/b', es('b'));
  app.get('/t/:ch', es('{ch}'));
  app.get('/q', es('{ch}'));
  app.get('/ab', es('a', 'b'));
  app.get('/abe', es(['a', 'b', 'é']));
  app.get('/fn', es((req) => String((req.query as Record<string, unknown>).chs).split(',')));
  return app;
}

interface Variant {
  history: (maxEvents: number) => EventStreamHistory;
  ids: IdScheme;
}

async function runScenario(scenario: Scenario, { history, ids }: Variant): Promise<void> {
  const es = new EventStream({ keepAliveInterval: 60_000, history: history(scenario.maxEvents) });
  const server = await listen(makeApp(es));
  const run = new Run(es, server, scenario.maxEvents, randomUUID().slice(0, 4), ids);
  tally.runs++;
  let step = 0;
  try {
    for (const action of scenario.actions) {
      step++;
      await run.step(action);
    }
    step++;
    await run.finish();
  } catch (err) {
    const where = step > scenario.actions.length ? 'at the final check' : `at step ${step}`;
    throw new Error(`${where}: ${(err as Error).message}\n  ${describeScenario(scenario)}`);
  } finally {
    run.closeAll();
    await server.close();
    await es.close();
  }
}

type EventStreamHistory = NonNullable<ConstructorParameters<typeof EventStream>[0]>['history'];

function assertProperty(variant: Variant, defaultRuns: number): Promise<void> {
  // Ids counted per channel are only unambiguous on single-channel streams.
  const routes = variant.ids === 'unique' ? ALL_ROUTES : SINGLE_CHANNEL_ROUTES;
  return fc.assert(
    fc.asyncProperty(scenarioArb(routes), (scenario) => runScenario(scenario, variant)),
    { seed: SEED, numRuns: RUNS ?? defaultRuns },
  );
}

// ---------------------------------------------------------------------------------------------

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await runCleanups();
});
afterAll(() => {
  console.info(`[delivery property] seed ${SEED}: ${JSON.stringify(tally)}`);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const memory = (maxEvents: number): EventStreamHistory => ({ maxEvents });

describe('delivery property: exactly once, in order, or history-truncated', () => {
  it('over the in-memory history', async () => {
    await assertProperty({ history: memory, ids: 'unique' }, 150);
  }, 300_000);

  // Custom ids are per channel ('1', '2'… on every room).
  it('over the in-memory history, custom ids counted per channel', async () => {
    await assertProperty({ history: memory, ids: 'per-channel' }, 100);
  }, 300_000);

  describe.runIf(requireRedis())('over a real Redis', () => {
    const inRedis = (maxEvents: number): EventStreamHistory => ({ redis: redis.url, keyPrefix: `prop-${randomUUID()}:`, maxEvents });
    const redis = useRedis();

    it('history: { redis }', async () => {
      await assertProperty({ history: inRedis, ids: 'unique' }, 80);
    }, 300_000);

    // Custom ids are per channel, as above.
    it('history: { redis }, custom ids counted per channel', async () => {
      await assertProperty({ history: inRedis, ids: 'per-channel' }, 60);
    }, 300_000);
  });
});
