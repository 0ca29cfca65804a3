import { Publisher } from '@fanoutio/grip';
import { InvalidConfigError } from '../errors.js';
import type { GripPublisherSpec } from '../types.js';

/**
 * Builds the `@fanoutio/grip` Publisher for every form of `grip` the reference accepts:
 * a GRIP URL, one config, an array of configs, or a ready Publisher. `null`, `undefined`
 * and `''` (an unset `process.env.GRIP_URL`) mean no GRIP.
 */
export function publisherFromSpec(spec: GripPublisherSpec | null | undefined): Publisher | undefined {
  if (spec === null || spec === undefined || spec === '') return undefined;
  if (spec instanceof Publisher) return spec;
  if (isPublisherLike(spec)) return spec;
  try {
    return new Publisher(spec);
  } catch (err) {
    throw new InvalidConfigError(`invalid grip configuration: ${describe(err)}`, { cause: err });
  }
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
