import { latin1AsUtf8, utf8AsLatin1 } from '../sse/utf8.js';

/**
 * Header values travel as bytes. Node and fetch's Headers present each byte as one character
 * (Latin-1), and send each character of a value as one byte. Text beyond ASCII (a channel
 * called `café`, an id in Japanese) goes out as its UTF-8 bytes and is read back from them,
 * as browsers and Pushpin do.
 */

/** The value to hand to `setHeader`/`Headers` so that `text` leaves as UTF-8. */
export function toHeaderBytes(text: string): string {
  return /[^\u0000-\u007f]/.test(text) ? utf8AsLatin1(text) : text;
}

/**
 * The text of a received header value: its bytes decoded as UTF-8 when that round-trips;
 * otherwise the client sent Latin-1 itself (undici does), so the value is kept as it came.
 */
export function fromHeaderBytes(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  return latin1AsUtf8(value) ?? value;
}
