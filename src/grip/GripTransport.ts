import { Channel, GripInstruct, HttpStreamFormat, Item, type IItemExport, type Publisher } from '@fanoutio/grip';
import { GripPublishError } from '../errors.js';
import { now, type Metrics } from '../telemetry/Metrics.js';
import { redactSecrets } from '../redact.js';
import { FROM_START } from '../history/HistoryStore.js';
import { KEEP_ALIVE } from '../sse/frames.js';
import { decodeGripId, encodeGripId, NO_PREVIOUS_ID } from './gripId.js';
import { DEFAULT_GRIP_TIMEOUT } from '../config/defaults.js';

export { NO_PREVIOUS_ID };

/**
 * How a request reached us. `signed`: through the proxy, proven by a Grip-Sig checked against
 * the verify key. `proxied`: claims to come through the proxy, but no key is configured to
 * check that (what `@fanoutio/eventstream` 2.0.1, the package gripstream replaces, always does), so anyone reaching the origin directly can say so.
 */
export type RequestOrigin = 'direct' | 'proxied' | 'signed' | 'forged';

/** One encoded event for the proxy, with its ids for GRIP reliable delivery. */
export interface GripFrame {
  content: string;
  id?: string;
  prevId?: string;
}

interface BatchCapableClient {
  publishUri: string;
  getAuth?(): { buildHeader(): Promise<string> } | undefined;
}

/** Seconds Pushpin may let a reliable stream idle before it checks the next link anyway. */
export const NEXT_LINK_TIMEOUT = 120;

/** What makes a hold reliable: each channel's position, and where to fetch what was missed. */
export interface ReliableHold {
  prevIds: ReadonlyMap<string, string>;
  nextLink: string;
  /** Seconds of quiet after which the proxy fetches the next link anyway (default NEXT_LINK_TIMEOUT). */
  nextLinkTimeout?: number;
}


/**
 * The GRIP side of an EventStream: tells proxied requests from direct ones, writes hold
 * instructions, and publishes encoded events to every configured proxy.
 * Protocol: https://pushpin.org/docs/protocols/grip/
 */
export class GripTransport {
  constructor(
    readonly publisher: Publisher,
    private readonly prefix: string,
    /** GRIP reliable mode: items carry `prev-id`, holds carry `prev-id` and a next link. */
    readonly reliable = false,
    private readonly timeoutMs = DEFAULT_GRIP_TIMEOUT,
    /** Counts publishes, failures and their duration (every one: each is an HTTP round trip). */
    private readonly metrics?: Metrics,
  ) {}

  /**
   * `@fanoutio/serve-grip` 2.0.0 checks signatures with `Array.some()` over the async
   * `validateSig`, so every forged Grip-Sig passes there. This awaits the check instead.
   */
  async classify(sig: string | undefined): Promise<RequestOrigin> {
    if (sig === undefined || sig === '') return 'direct';
    const result = await this.publisher.validateGripSig(sig);
    if (result.isProxied) return result.isSigned ? 'signed' : 'proxied';
    return result.needsSigned ? 'forged' : 'direct';
  }

  gripChannel(channel: string): string {
    return (this.publisher.prefix ?? '') + this.prefix + channel;
  }

  /**
   * Headers telling the proxy to hold the stream open on `channels` and keep it alive. In
   * reliable mode each channel names the id the client has (`prev-id`) and `Grip-Link` names
   * the URL the proxy GETs, with `Grip-Last`, when it sees a gap
   * (https://pushpin.org/docs/reliability/).
   */
  holdHeaders(channels: readonly string[], keepAliveSeconds: number, reliable?: ReliableHold): Record<string, string> {
    const instruct = new GripInstruct(
      channels.map((channel) => {
        const known = reliable?.prevIds.get(channel);
        // Encoded: a publisher's id must not add channels or parameters to the header.
        const prevId = reliable === undefined ? null : known === undefined ? NO_PREVIOUS_ID : encodeGripId(known);
        return new Channel(this.gripChannel(channel), prevId);
      }),
    );
    instruct.setHoldStream();
    if (keepAliveSeconds > 0) instruct.setKeepAlive(KEEP_ALIVE, keepAliveSeconds);
    if (reliable !== undefined) instruct.setNextLink(reliable.nextLink, reliable.nextLinkTimeout ?? NEXT_LINK_TIMEOUT);
    return instruct.toHeaders();
  }

  /**
   * Reads `Grip-Last: <grip channel>; last-id=<id>, ...`, sent by the proxy when it fetches
   * the next link to recover a gap: the last id it delivered, per channel of ours. Only the
   * route's own `channels` are kept: the header is client input as far as the route is
   * concerned, and must never widen what `authorize` allowed. `last-id=-` (the `prev-id` of
   * a hold on an empty channel) means nothing was delivered yet: the channel's start. Ids
   * come back as `encodeGripId` wrote them; an entry that does not decode is left out (its
   * channel is then read from its start, as for a channel the proxy did not name).
   */
  parseGripLast(header: string | undefined, channels: readonly string[]): Map<string, string> | undefined {
    if (header === undefined || header === '') return undefined;
    const positions = new Map<string, string>();
    const prefix = this.gripChannel('');
    const allowed = new Set(channels);
    for (const entry of header.split(',')) {
      const [name = '', ...params] = entry.split(';').map((part) => part.trim());
      const lastId = params.find((param) => param.startsWith('last-id='))?.slice('last-id='.length);
      if (!name.startsWith(prefix) || lastId === undefined) continue;
      const channel = name.slice(prefix.length);
      if (!allowed.has(channel)) continue;
      const text = unquote(lastId);
      if (text === NO_PREVIOUS_ID) {
        positions.set(channel, FROM_START);
        continue;
      }
      // A last-id gripstream did not write: the position is unknown, so the channel replays
      // from its start (never from a guess). It stays in the map: the proxy does hold it.
      positions.set(channel, decodeGripId(text) ?? FROM_START);
    }
    return positions;
  }

  /**
   * Publishes `frames` to `channel` on every proxy, as ONE request per proxy carrying all
   * items in order. Resolves when every proxy accepted them.
   */
  async publish(channel: string, frames: readonly GripFrame[]): Promise<void> {
    const gripChannel = this.gripChannel(channel);
    const items = frames.map((frame) => toItem(gripChannel, frame, this.reliable));
    const metrics = this.metrics;
    const startedAt = metrics?.gripPublishDuration.due() === true ? now() : 0;
    const sending = Promise.all(this.publisher.clients.map((client) => publishItems(client, gripChannel, items, this.timeoutMs)));
    if (metrics === undefined) {
      await sending;
      return;
    }
    metrics.gripPublishes++;
    try {
      await sending;
    } catch (err) {
      metrics.gripPublishFailures++;
      throw err;
    }
    if (startedAt !== 0) metrics.gripPublishDuration.observe((now() - startedAt) / 1000);
  }
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

// `prev-id` only in reliable mode: outside it the proxy has no next link to recover with.
function toItem(channel: string, frame: GripFrame, reliable: boolean): IItemExport {
  // The proxy compares these with the hold's `prev-id` and returns `id` in Grip-Last: both encoded alike.
  const prevId = reliable ? (frame.prevId === undefined ? NO_PREVIOUS_ID : encodeGripId(frame.prevId)) : undefined;
  const id = frame.id === undefined ? undefined : encodeGripId(frame.id);
  const exported = new Item(new HttpStreamFormat(frame.content), id, prevId).export();
  exported.channel = channel;
  return exported;
}

type Client = Publisher['clients'][number];

async function publishItems(client: Client, channel: string, items: IItemExport[], timeoutMs: number): Promise<void> {
  if (!isBatchCapable(client)) {
    // A custom client only knows one item at a time; keep the order by awaiting each.
    await withTimeout(
      (async () => {
        for (const item of items) await publishOne(client, channel, item);
      })(),
      timeoutMs,
    );
    return;
  }
  const body = JSON.stringify({ items });
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const auth = await client.getAuth?.()?.buildHeader();
  if (auth !== undefined) headers.Authorization = auth;
  let res: Response;
  let text: string;
  try {
    // One deadline for the whole exchange: a proxy that accepts the connection and then
    // freezes would otherwise hold the publish for ever.
    res = await fetch(client.publishUri, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    const reason = isTimeout(err)
      ? `did not answer within ${timeoutMs} ms (gripTimeout)`
      : `is not reachable (${rootMessage(err)})`;
    throw new GripPublishError(`GRIP proxy at ${redactSecrets(client.publishUri)} ${reason}: ${CHECK_PROXY}`, undefined, err);
  }
  if (!res.ok) {
    throw new GripPublishError(
      `GRIP proxy at ${redactSecrets(client.publishUri)} refused the publish: ${res.status} ${text.trim().slice(0, 200)}: ${refusalFix(res.status)}`,
      res.status,
      { statusCode: res.status, body: text },
    );
  }
}

async function publishOne(client: Client, channel: string, item: IItemExport): Promise<void> {
  try {
    await client.publish(channel, { export: () => ({ ...item }) });
  } catch (err) {
    const status = (err as { context?: { statusCode?: number } }).context?.statusCode;
    throw new GripPublishError(
      `GRIP publish through ${clientName(client)} failed (${rootMessage(err)}): ${CHECK_PROXY}`,
      status === -1 ? undefined : status,
      err,
    );
  }
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new GripPublishError(`GRIP proxy did not answer within ${ms} ms (gripTimeout): ${CHECK_PROXY}`, undefined, undefined)),
      ms,
    );
  });
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function isBatchCapable(client: Client): client is Client & BatchCapableClient {
  return typeof (client as Partial<BatchCapableClient>).publishUri === 'string';
}

const CHECK_PROXY = 'check that the proxy runs and that `grip` names its publish endpoint (Pushpin: port 5561)';

/** What to do about a status the proxy answered with. */
function refusalFix(status: number): string {
  if (status === 401 || status === 403) return 'check the key and iss in `grip` (they must match the proxy\'s)';
  return CHECK_PROXY;
}

/** A custom client has no publishUri; its class name is the best address we have. */
function clientName(client: Client): string {
  const uri = (client as { publishUri?: unknown }).publishUri;
  return typeof uri === 'string' ? `the GRIP proxy at ${redactSecrets(uri)}` : `the GRIP client ${client.constructor?.name ?? ''}`.trim();
}

/**
 * The innermost cause's message: `fetch` says only "fetch failed" and keeps the useful part
 * ("connect ECONNREFUSED 127.0.0.1:5561") two causes down.
 */
function rootMessage(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null) break;
    current = cause;
  }
  // A library's message may quote the URL it called, key and all.
  if (current instanceof Error) return redactSecrets(current.message);
  const text = (current as { message?: unknown } | null)?.message;
  return redactSecrets(typeof text === 'string' ? text : String(current));
}
