/**
 * Frame.ofPosition (the in-memory history's live frames, written without making the id's
 * text) must give exactly the bytes of the general path, `Frame.of(encodeEvent(…))`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import { encodeEvent } from '../../src/sse/encode.js';

// Fixed seed by default; FC_SEED / FC_RUNS for other or more runs (README).
const SEED = Number(process.env.FC_SEED ?? 20261202);
const RUNS = process.env.FC_RUNS === undefined ? 300 : Number(process.env.FC_RUNS);

const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'é', '€', '😀', ' ', '"', '\n', '\r'), fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' })) });
const name = text.filter((s) => !/[\r\n\0]/.test(s));

describe('Frame.ofPosition', () => {
  it('writes the same bytes as Frame.of(encodeEvent) for any position, name and data', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(20), fc.maxSafeNat(), fc.constant(1_764_633_600_000_001)), name, text, (seq, event, data) => {
        const direct = Frame.ofPosition(seq, event, data);
        if (/\r\n|\r|\n/.test(data)) {
          expect(direct).toBeUndefined();
          return;
        }
        const general = Frame.of(encodeEvent({ event, data, id: String(seq) }), seq);
        expect(direct!.chunk.toString('latin1')).toBe(general.chunk.toString('latin1'));
        expect(direct!.bytes.equals(general.bytes)).toBe(true);
        expect(direct!.seq).toBe(seq);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('leaves data with line breaks, and positions that are not safe integers, to the general path', () => {
    expect(Frame.ofPosition(5, 'm', 'a\nb')).toBeUndefined();
    expect(Frame.ofPosition(5, 'm', 'a\r\nb')).toBeUndefined();
    expect(Frame.ofPosition(2 ** 53, 'm', 'x')).toBeUndefined();
    expect(Frame.ofPosition(-1, 'm', 'x')).toBeUndefined();
    expect(Frame.ofPosition(1.5, 'm', 'x')).toBeUndefined();
    expect(Frame.ofPosition(0, '', '')!.bytes.toString()).toBe('id: 0\ndata: \n\n');
  });
});
