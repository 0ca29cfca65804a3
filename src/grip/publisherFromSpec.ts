import { Publisher } from '@fanoutio/grip';
import { InvalidConfigError } from '../errors.js';
import type { GripPublisherSpec } from '../types.js';

/**
 * Builds the `@fanoutio/grip` Publisher for every form of `grip` that `@fanoutio/eventstream` 2.0.1 (the package gripstream replaces) accepts:
 * a GRIP URL, one config, an array of configs, or a ready Publisher. `null`, `undefined`
 * and `''` (an unset `process.env.GRIP_URL`) mean no GRIP.
 */
export function publisherFromSpec(spec: GripPublisherSpec | null | undefined): Publisher | undefined {
  if (spec === null || spec === undefined || spec === '') return undefined;
  if (spec instanceof Publisher) return spec;
  if (isPublisherLike(spec)) return spec;
  for (const uri of controlUris(spec)) assertHttpUrl(uri);
  try {
    return new Publisher(spec);
  } catch (err) {
    throw new InvalidConfigError(
      `grip is not a configuration that works (${describe(err)}): give a GRIP URL such as 'http://127.0.0.1:5561/?iss=pushpin&key=changeme', or { control_uri, key }`,
      { cause: err },
    );
  }
}

/** The URLs a spec points the publisher at: the GRIP URL itself, or each config's control_uri. */
function controlUris(spec: Exclude<GripPublisherSpec, Publisher>): unknown[] {
  if (typeof spec === 'string') return [spec];
  const configs: unknown[] = Array.isArray(spec) ? spec : [spec];
  return configs.map((config) => (config as { control_uri?: unknown } | null)?.control_uri);
}

/**
 * `127.0.0.1:5561` parses as a URL whose scheme is `127.0.0.1:` and `localhost:5561` as one
 * whose scheme is `localhost:`: accepted by the URL parser, they fail at the first publish.
 * Refused here instead; only the scheme and host are shown (a GRIP URL carries its key).
 */
function assertHttpUrl(uri: unknown): void {
  if (typeof uri !== 'string' || /^https?:\/\/[^/?#]/i.test(uri)) return;
  const shown = uri.replace(/[?#].*$/s, '').slice(0, 60);
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
