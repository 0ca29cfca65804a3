import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { markdownFiles } from './snippets.js';

// Every relative link of README.md and docs/ points at a file that exists, and every
// `#anchor` at a heading of that file (GitHub's slugs), so a moved section cannot strand a link.

const root = fileURLToPath(new URL('../..', import.meta.url));

// Guides other branches of this release write. Until they are merged, a link to one is
// reported loudly here; under CI=true (where main must be whole) it fails like any other.
const WRITTEN_ELSEWHERE = new Set(['docs/frameworks.md', 'docs/auth.md', 'docs/operations.md', 'docs/operations-metrics.md', 'docs/one-machine.md']);

function withoutFences(text: string): string {
  return text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, '');
}

function withoutCode(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, '');
}

function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_~]/g, '')
    .replace(/[^\p{L}\p{N}\- ]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  // Only fenced blocks go: GitHub's slug keeps the text of inline code in a heading
  // ("Redis eviction (`maxmemory-policy`)" is #redis-eviction-maxmemory-policy).
  const text = withoutFences(fs.readFileSync(file, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((match) => slug(match[1]!)));
}

describe('links in README.md and docs/', () => {
  const files = markdownFiles(root);

  it.each(files)('%s: every relative link and anchor resolves', (file) => {
    const text = withoutCode(fs.readFileSync(path.join(root, file), 'utf8'));
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // https:, mailto:
      const [pathPart = '', anchor] = target!.split('#');
      const resolved = pathPart === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), pathPart);
      const relative = path.relative(root, resolved);
      if (!fs.existsSync(resolved)) {
        if (WRITTEN_ELSEWHERE.has(relative) && process.env.CI !== 'true') {
          console.warn(`\n!!!!! ${file} links to ${relative}, written on another branch and not merged yet !!!!!\n`);
          continue;
        }
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
        broken.push(`${target}: no heading with that anchor`);
      }
    }
    expect(broken).toEqual([]);
  });
});
