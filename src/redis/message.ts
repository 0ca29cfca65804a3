/**
 * The pub/sub message of one publish call, as the append script writes it: netstrings
 * (`<byte length>:<bytes>`) of the epoch, the channel's previous position, then per event its
 * position, id, event and data. Lengths in bytes let data hold any character.
 */
export interface BatchMessage {
  epoch: string;
  prevSeq: number;
  items: BatchItem[];
}

export interface BatchItem {
  seq: number;
  id: string;
  event: string;
  data: string;
}

/** Decodes a message; undefined for anything not written by the append script. */
export function decodeBatch(message: Buffer): BatchMessage | undefined {
  const fields: string[] = [];
  let offset = 0;
  while (offset < message.length) {
    const colon = message.indexOf(0x3a, offset);
    if (colon < 0) return undefined;
    const length = Number(message.toString('latin1', offset, colon));
    if (!Number.isSafeInteger(length) || colon + 1 + length > message.length) return undefined;
    fields.push(message.toString('utf8', colon + 1, colon + 1 + length));
    offset = colon + 1 + length;
  }
  if (fields.length < 2 || (fields.length - 2) % 4 !== 0) return undefined;
  const items: BatchItem[] = [];
  for (let i = 2; i < fields.length; i += 4) {
    items.push({ seq: Number(fields[i]), id: fields[i + 1]!, event: fields[i + 2]!, data: fields[i + 3]! });
  }
  return { epoch: fields[0]!, prevSeq: Number(fields[1]), items };
}
