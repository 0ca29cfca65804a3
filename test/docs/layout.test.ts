import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/development.md promises: each folder of src/ is one room, and no room imports one above
// it (the rooms' import graph has no cycle); the backends stay apart. This reads the imports.

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** A top folder of src/, or a file at its root. */
function roomOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0]!;
}

function roomGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = roomOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = normalize(join(dirname(file), match[1]!));
      const to = roomOf(target);
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  return graph;
}

/** Rooms that import each other, directly or around a loop (strongly connected, more than one). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (room: string): void => {
    index.set(room, next);
    low.set(room, next++);
    stack.push(room);
    for (const to of graph.get(room)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(room, Math.min(low.get(room)!, low.get(to)!));
      } else if (stack.includes(to)) low.set(room, Math.min(low.get(room)!, index.get(to)!));
    }
    if (low.get(room) !== index.get(room)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      group.push(member);
    } while (member !== room);
    if (group.length > 1) found.push(group);
  };
  for (const room of graph.keys()) if (!index.has(room)) visit(room);
  return found;
}

describe('the layout of src/', () => {
  const graph = roomGraph();

  it('has no room that imports one above it', () => {
    const explained = cycles(graph).map((group) =>
      group.flatMap((a) => group.filter((b) => graph.get(a)?.has(b)).map((b) => graph.get(a)!.get(b)!)),
    );
    expect(explained).toEqual([]);
  });

  it('keeps the backends apart, and the request side, bus and transports off both', () => {
    for (const room of ['request', 'bus', 'transport', 'history', 'engine', 'config', 'memory']) {
      expect([...(graph.get(room)?.keys() ?? [])], room).not.toContain('redis');
    }
    for (const room of ['request', 'bus', 'transport', 'history', 'engine', 'config', 'redis']) {
      expect([...(graph.get(room)?.keys() ?? [])], room).not.toContain('memory');
    }
  });

  it('finds the rooms it reads (the check can fail)', () => {
    expect(graph.get('redis')?.has('config')).toBe(true);
    expect(graph.size).toBeGreaterThan(20);
  });
});
