import { describe, expect, it } from 'vitest';
import { EventStream, InvalidConfigError } from '../../src/index.js';

// Bad Redis Cluster options fail at construction with a typed error (no Redis needed).

describe('Redis Cluster options', () => {
  it.each([
    ['an empty node list', { redis: { nodes: [] } }],
    ['a node that is not a URL', { redis: { nodes: ['localhost:7000'] } }],
    ['a node that is not redis://', { redis: { nodes: ['http://127.0.0.1:7000'] } }],
    ['both url and nodes', { redis: { url: 'redis://127.0.0.1:1', nodes: ['redis://127.0.0.1:2'] } }],
    ['history on an empty node list', { history: { redis: [] as string[] } }],
    ['history on a non-string node', { history: { redis: [7] as unknown as string[] } }],
    // The prefix's braces would be the hash tag of every key: all channels on one node.
    ['a key prefix with a hash tag', { redis: { nodes: ['redis://127.0.0.1:1'], keyPrefix: 'app{1}:' } }],
  ])('refuses %s', (_, options) => {
    expect(() => new EventStream(options as never)).toThrow(InvalidConfigError);
  });
});
