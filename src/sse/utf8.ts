/**
 * UTF-8 arithmetic without `Buffer`, so the code that web-standard runtimes (Next.js's Edge
 * runtime, workers) reach runs there too. Each is only called for text beyond ASCII or past a
 * length bound, never on a hot path of short ASCII names.
 */

/** Bytes of `text` in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD, as encoders write it). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

const encoder = new TextEncoder();

/** `text`'s UTF-8 bytes, one character per byte (what a header value carries on the wire). */
export function utf8AsLatin1(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += String.fromCharCode(byte);
  return out;
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** The text whose UTF-8 bytes `value` spells one byte per character, or undefined if they are not UTF-8. */
export function latin1AsUtf8(value: string): string | undefined {
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit > 0xff) return undefined;
    bytes[i] = unit;
  }
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}
