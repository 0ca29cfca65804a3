import type { HistoryRecord } from '../../history/HistoryStore.js';

/**
 * One stored stream entry as Redis returns it: id `<seq>-0`, and the fields the append script
 * writes: p = previous seq of the channel, i = SSE id, e = event, d = data.
 */
export type StreamEntry = [id: string, fields: string[]];

/** A stream entry as a record of `channel`, with the channel's position before it. */
export interface DecodedEntry {
  seq: number;
  prevSeq: number;
  record: HistoryRecord;
}

export function decodeEntry(channel: string, [entryId, fields]: StreamEntry): DecodedEntry {
  let id = '';
  let event = '';
  let data = '';
  let prev = '0';
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case 'i':
        id = value;
        break;
      case 'e':
        event = value;
        break;
      case 'd':
        data = value;
        break;
      case 'p':
        prev = value;
        break;
    }
  }
  const seq = Number(entryId.slice(0, entryId.indexOf('-')));
  return { seq, prevSeq: Number(prev), record: { seq, id, channel, event, data } };
}

/** A position as the scripts take it: whole digits (Lua's tostring would switch to exponents). */
export function formatSeq(seq: number): string {
  return seq.toFixed(0);
}
