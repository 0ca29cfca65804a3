import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1AsUtf8, utf8AsLatin1, utf8Length } from '../../src/sse/utf8.js';

// The Buffer-free UTF-8 helpers the edge path uses must agree with Node's Buffer, which the
// rest of the library (and the wire) goes by. Fixed seed; any string of UTF-16 units, lone
// surrogates included.

const SEED = 23;
const anyText = fc.string({ unit: 'binary', maxLength: 64 });

describe('utf8Length', () => {
  it('equals Buffer.byteLength for any string', () => {
    fc.assert(
      fc.property(anyText, (text) => utf8Length(text) === Buffer.byteLength(text)),
      { seed: SEED, numRuns: 2000 },
    );
    expect(utf8Length('é'.repeat(200))).toBe(400);
    expect(utf8Length('\ud83d\ude00\ud800')).toBe(7);
  });
});

describe('utf8AsLatin1 and latin1AsUtf8', () => {
  it('match Buffer both ways, and give undefined exactly when the bytes are not UTF-8', () => {
    fc.assert(
      fc.property(anyText, (text) => utf8AsLatin1(text) === Buffer.from(text, 'utf8').toString('latin1')),
      { seed: SEED, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        const latin1 = Buffer.from(bytes).toString('latin1');
        const decoded = Buffer.from(bytes).toString('utf8');
        const valid = Buffer.from(decoded, 'utf8').equals(Buffer.from(bytes));
        return latin1AsUtf8(latin1) === (valid ? decoded : undefined);
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(latin1AsUtf8('caf\u00c3\u00a9')).toBe('café');
    expect(latin1AsUtf8('\u0100')).toBeUndefined();
  });
});
