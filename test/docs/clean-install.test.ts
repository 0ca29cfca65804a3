import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What a newcomer meets before any code: `npm install` on the oldest supported Node without
// engine warnings, and README commands that leave `git status` clean.

const root = fileURLToPath(new URL('../..', import.meta.url));
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };
const OLDEST_NODE = '20.19.0';

interface Lock {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
}

function lockedPackagesRefusing(lockfile: string, node: string): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, lockfile), 'utf8')) as Lock;
  const refusing: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (where === '' || range === undefined) continue;
    if (!semver.satisfies(node, range)) refusing.push(`${where.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${range}`);
  }
  return refusing;
}

describe('npm install on the oldest supported Node', () => {
  it(`no locked package of the repository asks for more than Node ${OLDEST_NODE} (npm would warn EBADENGINE)`, () => {
    expect(lockedPackagesRefusing('package-lock.json', OLDEST_NODE)).toEqual([]);
  });

  it('nor of the Next.js example, which `npm run example:nextjs` installs', () => {
    expect(lockedPackagesRefusing('examples/nextjs/package-lock.json', OLDEST_NODE)).toEqual([]);
  });
});

describe('README commands leave the working tree clean', () => {
  const ignored = (file: string): boolean => {
    try {
      execFileSync('git', ['check-ignore', '-q', file], { cwd: root });
      return true;
    } catch {
      return false;
    }
  };

  it.each([
    ['npm pack', 'gripstream-0.1.0.tgz'],
    ['npm run docs:api', 'docs/api/html/index.html'],
    ['the snippet runner', '.tmp-snippets/README_md_41_0.ts'],
    ['npm run example:nextjs (its build)', 'examples/nextjs/.next/BUILD_ID'],
  ])('what %s writes is ignored by git', (_command, file) => {
    expect(ignored(file)).toBe(true);
  });

  it('npm run example:nextjs installs with npm ci, which never rewrites the tracked lockfile', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['example:nextjs']).toMatch(/\bnpm ci\b/);
    expect(pkg.scripts['example:nextjs']).not.toMatch(/\bnpm install\b/);
  });
});
