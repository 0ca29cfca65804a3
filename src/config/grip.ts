import { Publisher } from '@fanoutio/grip';
import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { FORBIDDEN_IN_CHANNEL } from '../channelName.js';
import { isWellFormed } from '../sse/eventId.js';
import type { GripPublisherSpec } from '../types.js';
import { DEFAULT_GRIP_PREFIX } from './defaults.js';
import { assertKnownKeys, editDistance } from './knownKeys.js';

/** The GRIP side of an EventStream, checked: what `GripTransport` is built from. */
export interface GripSettings {
  readonly publisher: Publisher;
  /** `gripPrefix`, defaulted. */
  readonly prefix: string;
  /** `gripReliable`: only true when a history with lastIds() and signature checks make it safe. */
  readonly reliable: boolean;
}

/** What `gripReliable` needs from the rest of the options: a history that knows each channel's newest id. */
export type ReliableHistory = 'ok' | 'none' | 'no lastIds';

/** The `gripPrefix` option: a string the channel-name rule accepts (it goes into every Grip-Channel entry). */
export function gripPrefixOf(value: unknown): string {
  if (value === undefined) return DEFAULT_GRIP_PREFIX;
  if (typeof value !== 'string') {
    throw new InvalidConfigError(`gripPrefix must be a string, got ${describe(value)}: e.g. gripPrefix: 'events-' (the default)`);
  }
  assertGripPrefix(value);
  return value;
}

function assertGripPrefix(prefix: string): void {
  if (FORBIDDEN_IN_CHANNEL.test(prefix)) {
    throw new InvalidConfigError(`gripPrefix must not contain ',', ';', '"' or control characters, got ${describe(prefix)}: they separate Grip-Channel entries; use letters, digits, '-', '_' or '.'`);
  }
  // Routed channel names are trimmed, published ones are prefixed as given: a prefix with
  // white space at an edge would make the two never meet (nothing delivered).
  if (prefix !== prefix.trim()) {
    throw new InvalidConfigError(`gripPrefix must not start or end with white space, got ${describe(prefix)}: channel names are trimmed, so subscriptions and publishes would not match; e.g. gripPrefix: 'events-'`);
  }
  // GRIP headers carry names as UTF-8, which a lone surrogate cannot survive.
  if (!isWellFormed(prefix)) {
    throw new InvalidConfigError(`gripPrefix must be well-formed Unicode, got ${describe(prefix)} (a lone surrogate, which UTF-8 in a header cannot carry): e.g. gripPrefix: 'events-'`);
  }
}

/** The `gripReliable` option's type: a string `'true'` must not read as on (nor `'false'` as on). */
export function assertGripReliableType(value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new InvalidConfigError(`gripReliable must be true or false, got ${describe(value)}: write gripReliable: true (a boolean, not a string)`);
  }
}

/**
 * `grip`, `gripPrefix` and `gripReliable` together. The prefix is expected checked already
 * (see gripPrefixOf); reliable mode is refused unless it can keep its promise.
 */
export function gripSettingsOf(publisher: Publisher | undefined, prefix: string, reliable: boolean, history: ReliableHistory): GripSettings | undefined {
  if (reliable && (publisher === undefined || history !== 'ok')) {
    throw new InvalidConfigError(
      `gripReliable needs \`grip\` and a history store with lastIds(), got ${publisher === undefined ? 'no grip' : 'grip'} and ${history === 'none' ? 'no history' : 'a history store without lastIds()'}: give both, e.g. { grip: process.env.GRIP_URL, history: { redis: process.env.REDIS_URL } }`,
    );
  }
  if (publisher === undefined) return undefined;
  if (reliable && !verifiesSignatures(publisher)) {
    // A recovery request (Grip-Last) replays history; without a key to check Grip-Sig, anyone
    // reaching the origin directly could pose as the proxy and ask for it.
    throw new InvalidConfigError(
      'gripReliable needs a key to verify Grip-Sig on every grip client (`key` with `control_iss`, or `verify_key`; in a GRIP URL `?iss=...&key=...`)',
    );
  }
  return { publisher, prefix, reliable };
}

/** Whether every proxy's requests can be checked for a genuine Grip-Sig. */
function verifiesSignatures(publisher: Publisher): boolean {
  return publisher.clients.every((client) => client.getVerifyKey?.() != null);
}

/**
 * Builds the `@fanoutio/grip` Publisher for every form of `grip` that `@fanoutio/eventstream` 2.0.1 (the package gripstream replaces) accepts:
 * a GRIP URL, one config, an array of configs, or a ready Publisher. `null`, `undefined`
 * and `''` (an unset `process.env.GRIP_URL`) mean no GRIP.
 */
export function publisherFromSpec(spec: GripPublisherSpec | null | undefined): Publisher | undefined {
  if (spec === null || spec === undefined || spec === '') return undefined;
  if (spec instanceof Publisher) return spec;
  const configs = readGripSpec(spec);
  if (configs instanceof Publisher || isPublisherLike(configs)) return configs;
  if (Array.isArray(configs) && configs.length === 0) {
    throw new InvalidConfigError('grip must be a GRIP URL, a config or a non-empty array of configs, got []: give at least one { control_uri, control_iss, key }, or leave grip unset for no GRIP');
  }
  for (const uri of controlUris(configs)) assertHttpUrl(uri);
  try {
    // The snapshot, never the caller's object: a getter read again here could answer a URL the check never saw.
    return new Publisher(configs as ConstructorParameters<typeof Publisher>[0]);
  } catch (err) {
    throw new InvalidConfigError(
      `grip is not a configuration that works (${messageOf(err)}), got ${describe(spec)}: give a GRIP URL such as 'http://127.0.0.1:5561/?iss=pushpin&key=changeme', or { control_uri, control_iss, key }`,
      { cause: err },
    );
  }
}

/** Every key of a grip config that @fanoutio/grip's IGripConfig reads (the set @fanoutio/eventstream 2.0.1 passes on). */
export const GRIP_CONFIG_KEYS: readonly string[] = ['control_uri', 'control_iss', 'user', 'pass', 'key', 'verify_iss', 'verify_key'];

/**
 * `grip` read once: a URL as is, a Publisher (or one from another copy) as is, and each config
 * object copied from its own keys. An unknown key is refused: `verify_kye` or `verifyKey`
 * would otherwise leave Grip-Sig unchecked while the author believes it is checked.
 */
function readGripSpec(spec: Exclude<GripPublisherSpec, Publisher>): string | Publisher | Record<string, unknown> | Record<string, unknown>[] {
  if (typeof spec === 'string') {
    assertNoParameterTypo(spec);
    return spec;
  }
  try {
    if (isPublisherLike(spec)) return spec;
    if (Array.isArray(spec)) return Array.from(spec as unknown[], (config, index) => gripConfigOf(config, `grip[${index}]`));
    return gripConfigOf(spec, 'grip');
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    throw new InvalidConfigError(`grip cannot be read: ${messageOf(err)}: pass a GRIP URL or plain { control_uri, control_iss, key } objects`, { cause: err });
  }
}

/** The query parameters of a GRIP URL that @fanoutio/grip reads (the rest stay in the publish URL). */
const GRIP_URL_PARAMETERS: readonly string[] = ['iss', 'key', 'verify-iss', 'verify-key'];

/**
 * A GRIP URL's other parameters are passed on to the proxy, so they cannot all be refused; but
 * one a letter away from a key parameter (`kye`, `verify_key`, `Key`) is a typo that would leave
 * Grip-Sig unchecked. Only the name is shown: the URL carries the key.
 */
function assertNoParameterTypo(uri: string): void {
  let names: string[];
  try {
    names = [...new URL(uri).searchParams.keys()];
  } catch {
    return; // Not a URL: assertHttpUrl and the Publisher say so.
  }
  for (const name of names) {
    if (GRIP_URL_PARAMETERS.includes(name)) continue;
    const written = name.toLowerCase().replace(/_/g, '-');
    const meant = GRIP_URL_PARAMETERS.find((known) => editDistance(written, known) <= 1 || sameLetters(written, known));
    if (meant !== undefined) {
      throw new InvalidConfigError(`grip URL has the parameter "${name}", got that instead of "${meant}" (did you mean "${meant}"?): GRIP URLs read iss, key, verify-iss and verify-key exactly; e.g. 'http://127.0.0.1:5561/?iss=pushpin&key=...'`);
    }
  }
}

/** Two letters swapped (`kye`): the same letters in another order. */
function sameLetters(a: string, b: string): boolean {
  return a.length === b.length && [...a].sort().join('') === [...b].sort().join('');
}

function gripConfigOf(config: unknown, what: string): Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidConfigError(`${what} must be a GRIP URL or a { control_uri, control_iss, key } object, got ${describe(config)}: e.g. grip: 'http://127.0.0.1:5561/?iss=pushpin&key=changeme'`);
  }
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(config)) copy[key] = (config as Record<string, unknown>)[key];
  assertKnownKeys(copy, GRIP_CONFIG_KEYS, `${what} key`);
  // Not ownOptions' plain-object rule: at the edge a config may come from another realm. But a
  // key only inherited would be read by @fanoutio/grip and not by this check: refused.
  const inherited: string[] = [];
  for (const key in config) if (!Object.hasOwn(config, key)) inherited.push(key);
  if (inherited.length > 0) {
    throw new InvalidConfigError(`${what} has inherited keys (${inherited.map((key) => JSON.stringify(key)).join(', ')}), got ${describe(config)}: write the config as an object literal, e.g. { ...config }`);
  }
  return copy;
}

/** The URLs a spec points the publisher at: the GRIP URL itself, or each config's control_uri. */
function controlUris(spec: string | Record<string, unknown> | Record<string, unknown>[]): unknown[] {
  if (typeof spec === 'string') return [spec];
  const configs = Array.isArray(spec) ? spec : [spec];
  return configs.map((config) => config.control_uri);
}

/**
 * `127.0.0.1:5561` parses as a URL whose scheme is `127.0.0.1:` and `localhost:5561` as one
 * whose scheme is `localhost:`: accepted by the URL parser, they fail at the first publish.
 * Refused here instead; only the scheme and host are shown (a GRIP URL carries its key).
 */
function assertHttpUrl(uri: unknown): void {
  if (typeof uri !== 'string' || /^https?:\/\/[^/?#]/i.test(uri)) return;
  const shown = uri.replace(/[?#].*$/s, '').slice(0, 60);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1];
  if (scheme !== undefined) {
    // A URL with another scheme (file:, redis:): prefixing http:// to it would be a false fix.
    throw new InvalidConfigError(`grip must be an http:// or https:// URL, got the scheme ${JSON.stringify(`${scheme}:`)}: give the proxy's publish address, e.g. 'http://127.0.0.1:5561' (Pushpin)`);
  }
  throw new InvalidConfigError(
    `grip must be an http:// or https:// URL, got ${JSON.stringify(shown)}${shown.length < uri.length ? ' (query left out)' : ''}: add the scheme, e.g. 'http://${shown.replace(/^[a-z+.-]*:\/\//i, '') || '127.0.0.1:5561'}'`,
  );
}

/** A Publisher from another copy of @fanoutio/grip fails `instanceof`; recognise it by shape. */
function isPublisherLike(spec: unknown): spec is Publisher {
  return (
    typeof spec === 'object' &&
    spec !== null &&
    Array.isArray((spec as { clients?: unknown }).clients) &&
    typeof (spec as { publishFormats?: unknown }).publishFormats === 'function'
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
