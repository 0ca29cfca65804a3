import { describeValue } from '../describeValue.js';

// Deeper than this the walk stops and leaves the rest to JSON.stringify, which still
// refuses a cycle: a walk with no bound would overflow the stack on one.
const MAX_DEPTH = 64;

/** What JSON would lose in an event's data, and how to fix it. */
export interface JsonProblem {
  /** Where and what, e.g. `data.tags is a Set, which JSON sends as {}`. */
  problem: string;
  /** The fix the message suggests. */
  fix: string;
  /** What a toJSON() threw, when that is the problem. */
  cause?: unknown;
}

const CONVERT = 'data must be JSON (objects, arrays, strings, numbers, booleans, null): convert it first, e.g. Object.fromEntries(map) or [...set]';

/**
 * What in `data` JSON would silently lose, or `undefined` when nothing is: a function or a
 * symbol (dropped, or the whole event sent as empty data at the top), a Map, Set, WeakMap or
 * WeakSet (sent as `{}`). `undefined` nested in an object is left alone: JSON drops that key,
 * which is what an absent optional field means. A `toJSON()` is applied as JSON.stringify
 * applies it (with the key), and its result is what is checked: that is what would be sent.
 */
export function jsonProblem(data: unknown): JsonProblem | undefined {
  const found = walk(data, '', 0);
  if (found === undefined) return undefined;
  if (found.threw !== undefined) {
    const message = found.threw instanceof Error ? found.threw.message.split('\n')[0] : describeValue(found.threw);
    return {
      problem: `data${found.path}.toJSON() threw: ${message}`,
      fix: 'make that toJSON() return JSON, or convert the value before publishing',
      cause: found.threw,
    };
  }
  return { problem: `data${found.path} is ${found.what}`, fix: CONVERT };
}

interface Found {
  path: string;
  what: string;
  threw?: unknown;
}

// Runs on every publish: the path is built only on the way back from a find, so a walk over
// good data allocates nothing.
function walk(value: unknown, key: string, depth: number): Found | undefined {
  let current = value;
  let through = '';
  // As JSON.stringify does: an object's toJSON(key) replaces it, once (the result's own
  // toJSON is not called again).
  if (typeof current === 'object' && current !== null && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
    try {
      current = (current as { toJSON(key: string): unknown }).toJSON(key);
    } catch (err) {
      return { path: '', what: '', threw: err };
    }
    through = ', returned by its toJSON()';
  }
  const type = typeof current;
  if (type === 'function' || type === 'symbol') return { path: '', what: describeValue(current) + through };
  if (type !== 'object' || current === null || depth > MAX_DEPTH) return undefined;
  if (current instanceof Map || current instanceof Set || current instanceof WeakMap || current instanceof WeakSet) {
    return { path: '', what: `${describeValue(current)}${through}, which JSON sends as {}` };
  }
  const found = Array.isArray(current) ? walkArray(current, depth) : walkObject(current as Record<string, unknown>, depth);
  if (found !== undefined && through !== '' && found.threw === undefined) found.what += ` (inside what toJSON() returned)`;
  return found;
}

function walkArray(array: readonly unknown[], depth: number): Found | undefined {
  for (let i = 0; i < array.length; i++) {
    const found = mayHide(array[i]) ? walk(array[i], String(i), depth + 1) : undefined;
    if (found !== undefined) return { ...found, path: `[${i}]${found.path}` };
  }
  return undefined;
}

function walkObject(record: Record<string, unknown>, depth: number): Found | undefined {
  for (const key of Object.keys(record)) {
    const found = mayHide(record[key]) ? walk(record[key], key, depth + 1) : undefined;
    if (found !== undefined) return { ...found, path: `.${key}${found.path}` };
  }
  return undefined;
}

/** Strings, numbers, booleans, null and undefined are carried (or dropped) as JSON means. */
function mayHide(value: unknown): boolean {
  const type = typeof value;
  return type === 'object' || type === 'function' || type === 'symbol';
}
