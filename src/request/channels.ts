import { InvalidChannelError } from '../errors.js';
import type { ChannelList } from '../types.js';
import type { RequestView } from './RequestView.js';
import { describeValue, quote } from '../describeValue.js';
import { FORBIDDEN_IN_CHANNEL, MAX_CHANNEL_BYTES, normalizeChannel } from '../channelName.js';
import { isWellFormed } from '../sse/eventId.js';
import { utf8Length } from '../sse/utf8.js';

/**
 * A channel function of any framework's request. Each route hands it the request its
 * framework gives (typed where the route is declared), so here the parameter is opaque.
 */
export type AnyChannelsBuilder = (req: never) => ChannelList | Promise<ChannelList>;

/** What a route was declared with: names (maybe templated), or a function of the request. */
export type ChannelSpec = readonly string[] | AnyChannelsBuilder;

/** More channels than this in one request is refused: each costs a subscription (and a GRIP header entry). */
export const MAX_CHANNELS_PER_REQUEST = 100;

const TOKEN = /\{([^{}]+)\}/g;

/** Turns the arguments of `eventStream(...)` into a spec, accepting every form `@fanoutio/eventstream` 2.0.1 does. */
export function toChannelSpec(args: readonly unknown[]): ChannelSpec {
  const [first] = args;
  if (args.length === 1 && typeof first === 'function') return first as AnyChannelsBuilder;
  if (args.length === 1 && Array.isArray(first)) return assertStrings(first);
  return assertStrings(args);
}

function assertStrings(values: readonly unknown[]): readonly string[] {
  // Refused when declared: such a route could only ever answer 400.
  if (values.length === 0) {
    throw new InvalidChannelError("eventStream() needs at least one channel, got none: e.g. eventStream('news') or eventStream('room-{id}')");
  }
  for (const value of values) {
    if (typeof value !== 'string') {
      throw new InvalidChannelError(
        `eventStream() takes channel names, an array of them, or a function of the request, got ${describeValue(value)}`,
      );
    }
    assertDeclarable(value);
  }
  return values as readonly string[];
}

/**
 * A declared name that no request could ever make valid is refused here, where the mistake
 * is, instead of answering 400 to every request. A name without `{param}` is checked whole;
 * in a template only the literal text is, since parameters are known per request.
 */
function assertDeclarable(name: string): void {
  try {
    if (!name.includes('{')) {
      normalizeChannel(name);
      return;
    }
    const literal = name.replace(TOKEN, '');
    if (FORBIDDEN_IN_CHANNEL.test(literal)) normalizeChannel(literal);
    assertLiteralFits(name);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const fix = name.includes(',')
      ? "for several channels give several names: eventStream('a', 'b')"
      : "a channel name is 1 to 255 bytes of well-formed text without control characters, ',', ';' or '\"'";
    throw new InvalidChannelError(`eventStream(${quote(name)}) can never be a valid channel (${reason}): ${fix}`);
  }
}

/**
 * A parameter only adds text: a template whose own text is already over the byte limit can
 * never fit. A lone surrogate in the text cannot be paired by a parameter either (parameters
 * come decoded from UTF-8, which has no lone surrogates), so each piece is checked alone.
 */
function assertLiteralFits(template: string): void {
  const pieces = template.trim().split(TOKEN).filter((_, i) => i % 2 === 0);
  const bytes = pieces.reduce((sum, piece) => sum + utf8Length(piece), 0);
  if (bytes > MAX_CHANNEL_BYTES) {
    throw new InvalidChannelError(`its text without the parameters is already ${bytes} bytes, over the ${MAX_CHANNEL_BYTES}-byte limit`);
  }
  for (const piece of pieces) {
    if (!isWellFormed(piece)) throw new InvalidChannelError(`its text ${quote(piece)} is not well-formed Unicode (a lone surrogate)`);
  }
}

/**
 * The channels a request listens to: the spec evaluated (a builder may answer with a Promise:
 * looking up a user's rooms is the common case), `{name}` tokens filled from route params
 * (Express) or the query (Next.js), names normalised, duplicates dropped.
 * Throws `InvalidChannelError`, which the request side answers with 400; a builder's
 * `StreamRefusedError` is answered as a refusal; any other error (or rejection) is passed on.
 * Synchronous unless the builder answered with a Promise: a route of names costs no turn of
 * the microtask queue (and no promise) per stream.
 */
export function resolveChannels(spec: ChannelSpec | string, req: RequestView): string[] | Promise<string[]> {
  // The route typed the builder for the request its framework hands over: the subject.
  const built = typeof spec === 'function' ? (spec as (req: unknown) => unknown)(req.subject) : spec;
  return isPromiseLike(built) ? Promise.resolve(built).then((raw) => channelsOf(raw, req)) : channelsOf(built, req);
}

function channelsOf(raw: unknown, req: RequestView): string[] {
  const names = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(names)) throw new InvalidChannelError('channel list must be a string or an array');
  if (names.length > MAX_CHANNELS_PER_REQUEST) {
    throw new InvalidChannelError(`more than ${MAX_CHANNELS_PER_REQUEST} channels in one request`);
  }
  // One name (most routes): no Set to drop duplicates with.
  if (names.length === 1) return [normalizeChannel(fillTemplate(names[0], req))];
  const channels = new Set<string>();
  for (const name of names) {
    channels.add(normalizeChannel(fillTemplate(name, req)));
  }
  if (channels.size === 0) throw new InvalidChannelError('no channel to listen to');
  return [...channels];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function fillTemplate(name: unknown, req: RequestView): unknown {
  if (typeof name !== 'string' || !name.includes('{')) return name;
  // The declared name is trimmed, never what a parameter brought: a parameter of white space
  // must not turn `news{suffix}` into the channel `news`.
  const template = name.trim();
  const filled = template.replace(TOKEN, (_token, key: string) => {
    const value = lookupParam(req, key);
    if (value === undefined) throw new InvalidChannelError(`missing parameter "${key}" for channel "${name}"`);
    return value;
  });
  if (filled !== filled.trim()) {
    throw new InvalidChannelError(`a parameter makes channel ${quote(filled)} start or end with white space`);
  }
  return filled;
}

function lookupParam(req: RequestView, key: string): string | undefined {
  const fromParams = firstString(req.params?.[key]);
  if (fromParams !== undefined) return fromParams;
  const query = typeof req.query === 'object' && req.query !== null ? req.query : parseQuery(req.url);
  return firstString(query[key]);
}

function parseQuery(url: string | undefined): Record<string, string> {
  const search = url?.includes('?') ? url.slice(url.indexOf('?')) : '';
  return Object.fromEntries(new URLSearchParams(search));
}

function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  return typeof value === 'string' ? value : undefined;
}
