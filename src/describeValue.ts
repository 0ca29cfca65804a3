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
      return `${JSON.stringify(clip(redactSecrets(value)))} (a string)`;
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
  const kind = value.constructor?.name;
  if (kind === undefined || kind === 'Object') return 'an object';
  return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

// A message is one line a person reads: a long value is shown by its start.
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
