import type { ClaimResult, IdempotencyStore } from '../types.js';

// The store's interface is a public option type (createPublishHandler's idempotency.store),
// defined in types.ts where config/ reads it.
export type { ClaimResult, IdempotencyStore } from '../types.js';

interface Entry {
  state: 'pending' | 'done';
  expires: number;
}

/** Most keys the in-memory store holds; past it the oldest go first (insertion order). */
const MAX_KEYS = 100_000;

/**
 * One process's memory. With several instances behind a load balancer, a retry may land on
 * another instance: give the handler a store they share (see `RedisIdempotencyStore`).
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /** See `IdempotencyStore.claim`. */
  claim(keys: readonly string[], pendingMs: number): ClaimResult {
    const now = Date.now();
    const done = new Set<string>();
    let pending = false;
    for (const key of keys) {
      const entry = this.live(key, now);
      if (entry?.state === 'done') done.add(key);
      else if (entry?.state === 'pending') pending = true;
    }
    if (pending) return { done, pending };
    for (const key of keys) if (!done.has(key)) this.set(key, { state: 'pending', expires: now + pendingMs });
    return { done, pending };
  }

  /** See `IdempotencyStore.commit`. */
  commit(keys: readonly string[], windowMs: number): void {
    const expires = Date.now() + windowMs;
    for (const key of keys) this.set(key, { state: 'done', expires });
  }

  /** See `IdempotencyStore.release`. */
  release(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expires > now) return entry;
    this.entries.delete(key);
    return undefined;
  }

  private set(key: string, entry: Entry): void {
    // Re-inserted at the end, so the Map's order stays roughly oldest first for eviction.
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > MAX_KEYS) this.sweep();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_KEYS) break;
      this.entries.delete(key);
    }
  }
}
