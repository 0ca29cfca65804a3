/**
 * decideStream on its own: a WHATWG Request (no socket, no server) in, a StreamDecision out.
 * Each transport (node, web, edge) only carries out what is decided here.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import { subscribeGateOf } from '../../src/config/tokens.js';
import { StreamRefusedError } from '../../src/errors.js';
import { encodeGripId } from '../../src/grip/gripId.js';
import { GripTransport } from '../../src/grip/GripTransport.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { publisherFromSpec } from '../../src/config/grip.js';
import { Incidents } from '../../src/telemetry/incidents.js';
import { Metrics } from '../../src/telemetry/Metrics.js';
import type { ChannelSpec } from '../../src/request/channels.js';
import type { RefusalInfo } from '../../src/request/context.js';
import { decideStream, type DecideContext, type StreamDecision } from '../../src/request/decide.js';
import { viewOfFetchRequest } from '../../src/request/RequestView.js';

const STREAM_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' };
const GRIP_KEY = 's3cret';
// Port 9 (discard): nothing is published in these tests, the URL is never reached.
const GRIP_CONFIG = { control_uri: 'http://127.0.0.1:9/', control_iss: 'pushpin', key: GRIP_KEY, verify_iss: 'pushpin' };

function contextOf(overrides: Partial<DecideContext> = {}): DecideContext {
  return {
    history: undefined,
    grip: undefined,
    keepAliveSeconds: 20,
    holdReplayBytes: 1024 * 1024,
    retry: undefined,
    hooks: {},
    gates: [],
    tokens: undefined,
    incidents: new Incidents(undefined, undefined),
    metrics: new Metrics(false),
    isClosed: () => false,
    isDraining: () => false,
    ...overrides,
  };
}

function gripOf(reliable = false): GripTransport {
  return new GripTransport(publisherFromSpec(GRIP_CONFIG)!, 'events-', reliable);
}

function requestOf(path = '/events', init: { method?: string; headers?: Record<string, string> } = {}): Request {
  return new Request(`http://127.0.0.1${path}`, { method: init.method ?? 'GET', headers: { Accept: 'text/event-stream', ...init.headers } });
}

function decide(ctx: DecideContext, request: Request, spec: ChannelSpec | string = ['news']): Promise<StreamDecision> {
  return decideStream(ctx, viewOfFetchRequest(request), spec);
}

async function refusalOf(ctx: DecideContext, request: Request, spec?: ChannelSpec | string): Promise<StreamDecision & { kind: 'refuse' }> {
  const decision = await decide(ctx, request, spec);
  if (decision.kind !== 'refuse') throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return decision;
}

function gripSig(key = GRIP_KEY): Promise<string> {
  return new SignJWT({ iss: 'pushpin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(key));
}

describe('decideStream: accepted', () => {
  it('a direct GET becomes a stream on the route channels, with the event-stream head and no resume position', async () => {
    const decision = await decide(contextOf(), requestOf(), ['news', 'sport']);
    expect(decision).toEqual({ kind: 'stream', channels: ['news', 'sport'], lastEventId: { kind: 'none' }, headers: STREAM_HEADERS });
  });

  it('templated channels are filled from the query', async () => {
    const decision = await decide(contextOf(), requestOf('/events?user=ada'), ['user-{user}']);
    expect(decision).toMatchObject({ kind: 'stream', channels: ['user-ada'] });
  });

  it('HEAD gets the head and nothing else', async () => {
    const decision = await decide(contextOf(), requestOf('/events', { method: 'HEAD' }));
    expect(decision).toEqual({ kind: 'head', headers: STREAM_HEADERS });
  });

  it('authorize answering true lets the stream open', async () => {
    const asked: string[][] = [];
    const hooks = { authorize: (_req: unknown, channels: readonly string[]) => (asked.push([...channels]), true) };
    const decision = await decide(contextOf({ hooks }), requestOf(), ['a']);
    expect(decision.kind).toBe('stream');
    expect(asked).toEqual([['a']]);
  });
});

describe('decideStream: resume ids', () => {
  it('Last-Event-ID becomes the resume position', async () => {
    const decision = await decide(contextOf(), requestOf('/events', { headers: { 'Last-Event-ID': 'order-17' } }));
    expect(decision).toMatchObject({ kind: 'stream', lastEventId: { kind: 'id', value: 'order-17' } });
  });

  it('the lastEventId and last_event_id query parameters serve clients that cannot set headers', async () => {
    expect(await decide(contextOf(), requestOf('/events?lastEventId=42'))).toMatchObject({ lastEventId: { kind: 'id', value: '42' } });
    expect(await decide(contextOf(), requestOf('/events?last_event_id=43'))).toMatchObject({ lastEventId: { kind: 'id', value: '43' } });
  });

  it('the header wins over the query', async () => {
    const decision = await decide(contextOf(), requestOf('/events?lastEventId=query', { headers: { 'Last-Event-ID': 'header' } }));
    expect(decision).toMatchObject({ lastEventId: { kind: 'id', value: 'header' } });
  });

  it('a UTF-8 id comes back as the text it was', async () => {
    // What a browser sends: the UTF-8 bytes of `café`, one per header character.
    const request = requestOf('/events?lastEventId=caf%C3%A9');
    expect(await decide(contextOf(), request)).toMatchObject({ lastEventId: { kind: 'id', value: 'café' } });
  });

  it('an empty id is no position; an id no publish could have made is invalid (not an error)', async () => {
    expect(await decide(contextOf(), requestOf('/events?lastEventId='))).toMatchObject({ kind: 'stream', lastEventId: { kind: 'none' } });
    expect(await decide(contextOf(), requestOf('/events?lastEventId=%20padded'))).toMatchObject({ kind: 'stream', lastEventId: { kind: 'invalid' } });
  });
});

describe('decideStream: refusals (status, reason, headers)', () => {
  it('a closed EventStream: 503', async () => {
    const refusal = await refusalOf(contextOf({ isClosed: () => true }), requestOf());
    expect(refusal).toMatchObject({ status: 503, reason: 'event stream is closed' });
  });

  it('close() during an awaited authorize: 503, not a stream that would never end', async () => {
    let closed = false;
    const hooks = {
      authorize: async () => {
        closed = true;
        return true;
      },
    };
    const refusal = await refusalOf(contextOf({ hooks, isClosed: () => closed }), requestOf());
    expect(refusal).toMatchObject({ status: 503, reason: 'event stream is closed' });
  });

  it('draining without GRIP: 503 with Retry-After', async () => {
    const refusal = await refusalOf(contextOf({ isDraining: () => true }), requestOf());
    expect(refusal.status).toBe(503);
    expect(refusal.reason).toMatch(/draining/);
    expect(refusal.headers?.['Retry-After']).toMatch(/^\d+$/);
  });

  it('a method other than GET or HEAD: 405 with Allow', async () => {
    const refusal = await refusalOf(contextOf(), requestOf('/events', { method: 'POST' }));
    expect(refusal).toMatchObject({ status: 405, reason: 'an event stream is read with GET, not POST', headers: { Allow: 'GET, HEAD' } });
  });

  it('an Accept without text/event-stream: 406', async () => {
    const refusal = await refusalOf(contextOf(), requestOf('/events', { headers: { Accept: 'application/json' } }));
    expect(refusal).toMatchObject({ status: 406, reason: 'this endpoint only serves text/event-stream' });
  });

  it('a bad channel name: 400 with the reason', async () => {
    const refusal = await refusalOf(contextOf(), requestOf('/events'), ['user-{user}']);
    expect(refusal.status).toBe(400);
    expect(refusal.reason).toMatch(/user/);
  });

  it('a channel function throwing StreamRefusedError: its status, reason and challenge', async () => {
    const spec: ChannelSpec = () => {
      throw new StreamRefusedError(401, 'log in first', { wwwAuthenticate: 'Bearer realm="app"' });
    };
    const refusal = await refusalOf(contextOf(), requestOf(), spec);
    expect(refusal).toMatchObject({ status: 401, reason: 'log in first', headers: { 'WWW-Authenticate': 'Bearer realm="app"' } });
    expect(refusal.channels).toBeUndefined();
  });

  it('authorize answering false: 403 with the default reason, naming the channels to onRefused', async () => {
    const refused: RefusalInfo[] = [];
    const hooks = { authorize: () => false, onRefused: (info: RefusalInfo) => void refused.push(info) };
    const request = requestOf();
    const refusal = await refusalOf(contextOf({ hooks }), request, ['secret']);
    expect(refusal).toMatchObject({ status: 403, reason: 'not authorized for these channels', channels: ['secret'] });
    expect(refused).toEqual([{ req: request, status: 403, reason: 'not authorized for these channels', channels: ['secret'] }]);
  });

  it('authorize answering a 401: its reason and a Bearer challenge', async () => {
    const hooks = { authorize: () => ({ status: 401 as const, reason: 'session expired' }) };
    const refusal = await refusalOf(contextOf({ hooks }), requestOf());
    expect(refusal).toMatchObject({ status: 401, reason: 'session expired', headers: { 'WWW-Authenticate': 'Bearer' } });
  });

  it('a stream needing a token without one: 401 as a JSON body', async () => {
    const tokens = subscribeGateOf(new TokenVerifier({ secret: 'a-token-secret-of-32-bytes-at-least!' }));
    const refusal = await refusalOf(contextOf({ tokens }), requestOf());
    expect(refusal.status).toBe(401);
    expect(refusal.contentType).toBe('application/json');
    expect(JSON.parse(refusal.reason)).toMatchObject({ code: 'ERR_TOKEN_MISSING' });
  });

  it('a forged Grip-Sig: 403', async () => {
    const refusal = await refusalOf(contextOf({ grip: gripOf() }), requestOf('/events', { headers: { 'Grip-Sig': await gripSig('not-the-key') } }));
    expect(refusal).toMatchObject({ status: 403, reason: 'Grip-Sig is not valid for this server' });
  });
});

describe('decideStream: GRIP (proxied)', () => {
  it('a signed proxy request becomes a hold: GRIP headers and the opening frames as body', async () => {
    const decision = await decide(contextOf({ grip: gripOf(), retry: 2500 }), requestOf('/events', { headers: { 'Grip-Sig': await gripSig() } }), ['a', 'b']);
    if (decision.kind !== 'hold') throw new Error(`expected a hold, got ${decision.kind}`);
    expect(decision.channels).toEqual(['a', 'b']);
    expect(decision.body).toBe('retry: 2500\n\nevent: stream-open\ndata: \n\n');
    expect(decision.headers).toMatchObject({ ...STREAM_HEADERS, 'Grip-Hold': 'stream', 'Grip-Channel': 'events-a, events-b' });
    expect(decision.headers['Grip-Keep-Alive']).toMatch(/timeout=20$/);
  });

  it('while draining, a proxied request is still held (the proxy keeps it, not this instance)', async () => {
    const decision = await decide(contextOf({ grip: gripOf(), isDraining: () => true }), requestOf('/events', { headers: { 'Grip-Sig': await gripSig() } }));
    expect(decision.kind).toBe('hold');
  });

  it('with GRIP configured, a request without Grip-Sig is a direct stream', async () => {
    const decision = await decide(contextOf({ grip: gripOf() }), requestOf());
    expect(decision.kind).toBe('stream');
  });

  it('a hold answered counts in the metrics', async () => {
    const metrics = new Metrics(false);
    await decide(contextOf({ grip: gripOf(), metrics }), requestOf('/events', { headers: { 'Grip-Sig': await gripSig() } }));
    expect(metrics.holdsAnswered).toBe(1);
  });
});

describe('decideStream: GRIP reliable mode (history behind the hold)', () => {
  function reliableContext(): { ctx: DecideContext; history: MemoryHistory } {
    const history = new MemoryHistory();
    return { ctx: contextOf({ grip: gripOf(true), history }), history };
  }

  it('a hold names each channel at its newest id (prev-id) and links back to the route, without resume parameters', async () => {
    const { ctx, history } = reliableContext();
    const [record] = history.append('a', [{ event: '', data: '1' }]);
    const request = requestOf('/events?room=1&lastEventId=old', { headers: { 'Grip-Sig': await gripSig() } });
    const decision = await decide(ctx, request, ['a', 'b']);
    if (decision.kind !== 'hold') throw new Error(`expected a hold, got ${decision.kind}`);
    expect(decision.headers['Grip-Channel']).toContain(`events-a; prev-id=${encodeGripId(record!.id)}`);
    expect(decision.headers['Grip-Link']).toMatch(/^<http:\/\/127\.0\.0\.1\/events\?room=1>; rel=next/);
    history.close();
  });

  it('a signed recovery (Grip-Last) gets only the missed events, no stream-open', async () => {
    const { ctx, history } = reliableContext();
    const [first] = history.append('a', [{ event: '', data: 'seen' }]);
    history.append('a', [{ event: '', data: 'missed' }]);
    const request = requestOf('/events', { headers: { 'Grip-Sig': await gripSig(), 'Grip-Last': `events-a; last-id=${encodeGripId(first!.id)}` } });
    const decision = await decide(ctx, request, ['a']);
    if (decision.kind !== 'hold') throw new Error(`expected a hold, got ${decision.kind}`);
    expect(decision.body).toMatch(/^id: [^\n]+\ndata: missed\n\n$/);
    history.close();
  });

  it('a recovery that does not name every channel of the route: 403', async () => {
    const { ctx, history } = reliableContext();
    const request = requestOf('/events', { headers: { 'Grip-Sig': await gripSig(), 'Grip-Last': 'events-a; last-id=-' } });
    const refusal = await refusalOf(ctx, request, ['a', 'b']);
    expect(refusal).toMatchObject({ status: 403, reason: 'this recovery names channels the held stream does not have' });
    history.close();
  });
});
