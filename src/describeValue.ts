import { redactSecrets } from './redact.js';

/**
 * How an error message shows the value it received. The type is spelled out wherever the
 * printed value alone would mislead: `retry: '3000'` must read `"3000" (a string)`, not
 * `3000`, or the reader cannot see what is wrong.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      // Redacted before clipped: a clip could cut the `@` that marks a password.
      return `${quote(clip(redactSecrets(value)))} (a string)`;
    case 'number':
      return String(value);
    case 'bigint':
      return `${value}n (a bigint)`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return `${String(value)} (a symbol)`;
    case 'function':
      return value.name === '' ? 'a function' : `a function (${value.name})`;
    default:
      return describeObject(value as object | null);
  }
}

function describeObject(value: object | null): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  // A generator object's constructor has no name: its tag says "Generator".
  const named = (value as { constructor?: { name?: unknown } }).constructor?.name;
  const kind = typeof named === 'string' && named !== '' ? named : Object.prototype.toString.call(value).slice(8, -1);
  if (kind === 'Object') return 'an object';
  return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

// A message is one line a person reads: a long value is shown by its start, never cut
// between the two halves of a surrogate pair (which would print as a stray \ud83d).
function clip(text: string): string {
  if (text.length <= 80) return text;
  const end = /[\ud800-\udbff]/.test(text[76]!) ? 76 : 77;
  return `${text.slice(0, end)}...`;
}

/**
 * A string in double quotes with every control character escaped: JSON.stringify leaves DEL
 * and the C1 controls raw, which a terminal may act on instead of showing.
 */
export function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
