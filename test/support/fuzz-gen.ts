/** Seeded generators of hostile text and JSON values for the fuzz suite. */

export type Random = () => number;

const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';

/** Pieces that matter to SSE framing, weighted into generated strings. */
const SPECIAL: readonly string[] = [
  '\n', '\r', '\r\n', '\n\r', '\r\r', '\n\n', '\0', ':', ' ', '  ', '\t', 'data:', 'data: ', 'id:', 'event:', 'retry:',
  ': comment', '\uFEFF', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c', '\u007f', '\ud800', '\udfff', '\udbff',
  '\udc00', '😀', '𝄞', 'é', '事件', '\uffff', '\ufffe', '\\', '"', '\u001b[31m',
];

export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
export const int = (random: Random, maxExclusive: number): number => Math.floor(random() * maxExclusive);

function oneChar(random: Random): string {
  const r = random();
  if (r < 0.55) return PRINTABLE[int(random, PRINTABLE.length)]!;
  if (r < 0.8) return pick(random, SPECIAL);
  if (r < 0.9) return String.fromCharCode(int(random, 0xffff + 1)); // any BMP unit, lone surrogates included
  if (r < 0.95) return String.fromCodePoint(0x10000 + int(random, 0x10ffff - 0x10000)); // astral
  return String.fromCharCode(int(random, 0x20)); // C0 controls
}

/** A string of mostly short, sometimes long, rarely very long length. */
export function randomText(random: Random, options: { long?: boolean } = {}): string {
  const r = random();
  let length: number;
  if (r < 0.1) return '';
  if (r < 0.8) length = 1 + int(random, 12);
  else if (r < 0.995 || options.long === false) length = 13 + int(random, 200);
  else return longText(random, 1_000 + int(random, 9_000));
  let out = '';
  while (out.length < length) out += oneChar(random);
  return out;
}

/** A long string built from random pieces (cheap to make), line breaks and specials included. */
function longText(random: Random, length: number): string {
  const pieces: string[] = [];
  let size = 0;
  while (size < length) {
    let piece = '';
    const pieceLength = 1 + int(random, 64);
    while (piece.length < pieceLength) piece += oneChar(random);
    const repeated = piece.repeat(1 + int(random, 8));
    pieces.push(repeated);
    size += repeated.length;
  }
  return pieces.join('').slice(0, length);
}

/** A string that is valid as an SSE field value (no CR, LF, NUL). */
export function fieldText(random: Random): string {
  return randomText(random, { long: false }).replace(/[\r\n\0]/g, () => pick(random, ['', 'x', ' ', '\t', '\u2028']));
}

/** A JSON-representable value whose round trip through JSON is exact (no -0, NaN, undefined). */
export function randomJson(random: Random, depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.45) {
    const kind = int(random, 6);
    if (kind === 0) return null;
    if (kind === 1) return random() < 0.5;
    if (kind === 2) return int(random, 2_000_001) - 1_000_000 || 0;
    if (kind === 3) {
      const x = (random() - 0.5) * 10 ** int(random, 30);
      return Object.is(x, -0) ? 0 : x;
    }
    return randomText(random);
  }
  if (r < 0.7) return Array.from({ length: int(random, 5) }, () => randomJson(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = int(random, 5); i > 0; i--) object[randomText(random, { long: false })] = randomJson(random, depth + 1);
  return object;
}
