import { describeValue } from '../describeValue.js';

// Deeper than this the walk stops and leaves the rest to JSON.stringify, which still
// refuses a cycle: a walk with no bound would overflow the stack on one.
const MAX_DEPTH = 64;

/**
 * What in `data` JSON would silently lose, or `undefined` when nothing is: a function or a
 * symbol (dropped, or the whole event sent as empty data at the top), a Map, Set, WeakMap or
 * WeakSet (sent as `{}`). `undefined` nested in an object is left alone: JSON drops that key,
 * which is what an absent optional field means. Returns where it is and what it is.
 */
export function jsonProblem(data: unknown): string | undefined {
  const found = walk(data, 0);
  return found === undefined ? undefined : `data${found.path} is ${found.what}`;
}

interface Found {
  path: string;
  what: string;
}

// Runs on every publish: the path is built only on the way back from a find, so a walk over
// good data allocates nothing.
function walk(value: unknown, depth: number): Found | undefined {
  const type = typeof value;
  if (type === 'function' || type === 'symbol') return { path: '', what: describeValue(value) };
  if (type !== 'object' || value === null || depth > MAX_DEPTH) return undefined;
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) {
    return { path: '', what: `${describeValue(value)}, which JSON sends as {}` };
  }
  // toJSON decides what is sent (a Date's string): its result is not walked.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = mayHide(value[i]) ? walk(value[i], depth + 1) : undefined;
      if (found !== undefined) return { path: `[${i}]${found.path}`, what: found.what };
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const found = mayHide(record[key]) ? walk(record[key], depth + 1) : undefined;
    if (found !== undefined) return { path: `.${key}${found.path}`, what: found.what };
  }
  return undefined;
}

/** Strings, numbers, booleans, null and undefined are carried (or dropped) as JSON means. */
function mayHide(value: unknown): boolean {
  const type = typeof value;
  return type === 'object' || type === 'function' || type === 'symbol';
}
