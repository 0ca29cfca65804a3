/**
 * Event ids as GRIP carries them. An id travels to the proxy in three places: the `prev-id`
 * parameter of `Grip-Channel` (a hold), the `id`/`prev-id` of a published item (which the
 * proxy compares with the hold's `prev-id`), and back in `Grip-Last: <channel>; last-id=<id>`
 * (a recovery). The publisher chooses ids, and the id rule (src/sse/eventId.ts) lets them hold
 * `,` `;` `"` `=` and spaces: written raw, such an id would add channels or parameters to the
 * header. Quoting is not enough: Pushpin unquotes `prev-id` and writes `last-id` back raw.
 *
 * So every id GRIP sees is percent-encoded (UTF-8) the same way, into HTTP token characters
 * only. The proxy compares encoded with encoded, so its gap detection is unchanged, and the
 * usual ids (numbers, UUIDs, `msg-1`) are left as they are. Clients never see this form: SSE
 * `id:` lines and Last-Event-ID carry the id itself.
 */

/**
 * The `prev-id` of a channel's first event, and of a channel with no events in a hold.
 * Pushpin only tracks a channel's position when the hold names one; without it the first
 * recovery of that channel comes without `Grip-Last` and nothing can be replayed.
 */
export const NO_PREVIOUS_ID = '-';

// What encodeURIComponent leaves alone, less `(` `)` (not token characters in a header).
const LEFT_AS_IS = /^[A-Za-z0-9\-_.!~*']+$/;
const ENCODED = /^(?:[A-Za-z0-9\-_.!~*']|%[0-9A-F]{2})+$/;

/** The id as a header-safe token: what goes into `prev-id`, `last-id` and published items. */
export function encodeGripId(id: string): string {
  // `-` alone is the proxy's "no previous id"; an event called `-` must not read as that.
  if (id === NO_PREVIOUS_ID) return '%2D';
  if (LEFT_AS_IS.test(id)) return id;
  // Ids are well-formed Unicode (the id rule), so encodeURIComponent cannot throw here.
  return encodeURIComponent(id).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'));
}

/**
 * The id an encoded `last-id` stands for, or undefined when `text` is not something
 * `encodeGripId` wrote (then the position is unknown, never guessed). The caller tells the
 * bare `-` (no previous id) apart first.
 */
export function decodeGripId(text: string): string | undefined {
  if (!ENCODED.test(text)) return undefined;
  if (!text.includes('%')) return text;
  let id: string;
  try {
    id = decodeURIComponent(text);
  } catch {
    return undefined;
  }
  // Only the one spelling encodeGripId makes: another would be a second name for the same id.
  return encodeGripId(id) === text ? id : undefined;
}
