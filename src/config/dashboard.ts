import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { DEFAULT_DASHBOARD_INTERVAL, DEFAULT_DASHBOARD_TOP } from './defaults.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Every option `eventStream.dashboard()` knows. */
export const KNOWN_DASHBOARD_OPTIONS: readonly string[] = ['authorize', 'interval', 'topChannels'];

/** Bounds of `interval` (ms): below 100 a viewer costs a snapshot per frame; past a minute the page is not live. */
export const DASHBOARD_INTERVAL_RANGE = [100, 60_000] as const;
/** Most channels the page lists: each is a row rendered on every update. */
export const MAX_DASHBOARD_TOP = 100;

/** The operator page's options, checked and defaulted. */
export interface DashboardSettings<A extends (...args: never[]) => unknown> {
  /** The page's own `authorize`, when given. */
  readonly authorize: A | undefined;
  readonly interval: number;
  readonly topChannels: number;
}

/**
 * `dashboard(options)`'s options, read once from own keys. A typo (`authorise`) would leave the
 * operator page open to anyone, and an interval past Node's timer range fires every 1 ms.
 */
export function dashboardOptionsOf<A extends (...args: never[]) => unknown>(options: unknown): DashboardSettings<A> {
  if (options === undefined || options === null) return { authorize: undefined, interval: DEFAULT_DASHBOARD_INTERVAL, topChannels: DEFAULT_DASHBOARD_TOP };
  const input = ownOptions(options, 'dashboard options');
  assertKnownKeys(input, KNOWN_DASHBOARD_OPTIONS, 'dashboard option');
  if (input.authorize !== undefined && typeof input.authorize !== 'function') {
    throw new InvalidConfigError(`dashboard authorize must be a function, got ${describe(input.authorize)}: e.g. authorize: (req) => req.headers['x-admin'] === process.env.ADMIN_KEY`);
  }
  const [min, max] = DASHBOARD_INTERVAL_RANGE;
  return {
    authorize: input.authorize as A | undefined,
    interval: integerIn(input.interval, DEFAULT_DASHBOARD_INTERVAL, min, max, 'interval', 'milliseconds between updates'),
    topChannels: integerIn(input.topChannels, DEFAULT_DASHBOARD_TOP, 0, MAX_DASHBOARD_TOP, 'topChannels', 'how many channels are listed; 0 hides their names'),
  };
}

function integerIn(value: unknown, fallback: number, min: number, max: number, name: string, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(`dashboard ${name} must be an integer from ${min} to ${max} (${what}), got ${describe(value)}: e.g. ${name}: ${fallback} (the default)`);
  }
  return value;
}
