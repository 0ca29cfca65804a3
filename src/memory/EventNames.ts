/** Names kept as strings; beyond this many, further names are stored as bytes with each event. */
const MAX_NAMES = 64;
const MAX_NAME_LENGTH = 64;

/**
 * The event names of a store, each kept once. A channel's events nearly always share a
 * handful of names (usually string literals, which live for ever anyway), so storing an
 * index saves encoding and decoding the name with every event.
 */
export class EventNames {
  private readonly indexOf = new Map<string, number>();
  /** The names by their index. */
  private readonly byIndex: string[] = [];
  private readonly utf8Lengths: number[] = [];

  /** The name's index, or -1 when it is not (and will not be) in the table. */
  lookup(name: string): number {
    const index = this.indexOf.get(name);
    if (index !== undefined) return index;
    if (this.byIndex.length >= MAX_NAMES || name.length > MAX_NAME_LENGTH) return -1;
    this.indexOf.set(name, this.byIndex.length);
    this.byIndex.push(name);
    this.utf8Lengths.push(Buffer.byteLength(name));
    return this.byIndex.length - 1;
  }

  name(index: number): string {
    return this.byIndex[index]!;
  }

  utf8Length(index: number): number {
    return this.utf8Lengths[index]!;
  }
}
