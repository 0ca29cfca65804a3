import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from '../support/build.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { extractSnippets, markdownFiles, TYPED, typeCheck, writeSnippets, type Snippet } from './snippets.js';

// Docs that cannot rot: every ```ts block of README.md and docs/**/*.md is type-checked under
// strict against the built package, and the blocks marked `<!-- snippet: run -->` are run.

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 20_000;

const snippets: Snippet[] = markdownFiles(root).flatMap((file) => extractSnippets(file, fs.readFileSync(path.join(root, file), 'utf8')));
const typed = snippets.filter((snippet) => TYPED.has(snippet.lang) && snippet.mode !== 'skip');
const runnable = snippets.filter((snippet) => snippet.mode === 'run');

// Run blocks that read REDIS_URL get a private redis-server of their own (a job snippet must
// really publish and really exit). Without redis-server they are skipped loudly; under CI=true
// requireRedis() throws.
const needsRedis = runnable.some((snippet) => snippet.code.includes('REDIS_URL'));
const redisReady = needsRedis && requireRedis();
let redis: RedisInstance | undefined;

beforeAll(async () => {
  await buildIfStale();
  if (redisReady) redis = await startRedis();
}, 180_000);

afterAll(async () => {
  await redis?.stop();
  for (const dir of ['.tmp-snippets', '.tmp-snippets-run']) fs.rmSync(path.join(root, dir), { recursive: true, force: true });
});

describe('the convention', () => {
  it('finds blocks, their language, and the directive on the line directly before', () => {
    const found = extractSnippets(
      'x.md',
      [
        '<!-- snippet: run -->',
        '```ts',
        'const a = 1;',
        '```',
        '<!-- snippet: skip (a fragment) -->',
        '```ts',
        'a;',
        '```',
        '<!-- snippet: run -->',
        '',
        '```sh',
        'ls',
        '```',
      ].join('\n'),
    );
    expect(found.map((s) => [s.lang, s.mode, s.reason, s.line, s.code])).toEqual([
      ['ts', 'run', undefined, 3, 'const a = 1;'],
      ['ts', 'skip', 'a fragment', 7, 'a;'],
      ['sh', 'check', undefined, 12, 'ls'], // a blank line in between: the directive does not apply
    ]);
  });

  it('reports a type error at its Markdown line (so a broken snippet fails the suite)', () => {
    const broken = extractSnippets('broken.md', "text\n```ts\nimport { EventStream } from 'gripstream';\nnew EventStream({ retry: '3000' });\n```\n");
    const problems = typeCheck(writeSnippets(path.join(root, '.tmp-snippets-selftest'), broken));
    fs.rmSync(path.join(root, '.tmp-snippets-selftest'), { recursive: true, force: true });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^broken\.md:4: TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it('every skip says why, and every run block is a ts block', () => {
    for (const snippet of snippets) {
      if (snippet.mode === 'skip') expect(snippet.reason, `${snippet.file}:${snippet.line}`).toBeTruthy();
      if (snippet.mode === 'run') expect(TYPED.has(snippet.lang), `${snippet.file}:${snippet.line}`).toBe(true);
    }
  });
});

/** The suite's environment, minus a developer's own GRIP_URL/REDIS_URL: blocks run the same everywhere. */
function snippetEnv(): NodeJS.ProcessEnv {
  const { GRIP_URL: _grip, REDIS_URL: _redis, ...env } = process.env;
  return { ...env, NODE_NO_WARNINGS: '1', ...(redis === undefined ? {} : { REDIS_URL: redis.url }) };
}

describe('README.md and docs/', () => {
  it(`type-checks every ts block under strict, against the built package (${typed.length} blocks)`, () => {
    expect(typed.length).toBeGreaterThan(0);
    const problems = typeCheck(writeSnippets(path.join(root, '.tmp-snippets'), typed));
    expect(problems, problems.join('\n')).toEqual([]);
  }, 120_000);

  it.each(runnable.map((snippet) => [`${snippet.file}:${snippet.line}`, snippet] as const))(
    'runs %s to completion',
    async (_where, snippet) => {
      if (snippet.code.includes('REDIS_URL') && !redisReady) return;
      const [written] = writeSnippets(path.join(root, '.tmp-snippets-run', String(snippet.line) + snippet.file.replace(/\W+/g, '_')), [snippet]);
      const result = await run(process.execPath, ['--import', 'tsx', written!.path], {
        cwd: root,
        timeout: RUN_TIMEOUT_MS,
        env: snippetEnv(),
      }).catch((err: { code?: unknown; signal?: unknown; stdout?: string; stderr?: string }) => {
        throw new Error(
          `${snippet.file}:${snippet.line} failed (exit ${String(err.code)}${err.signal ? `, ${String(err.signal)}: did not finish within ${RUN_TIMEOUT_MS / 1000} s` : ''})\n${err.stdout ?? ''}\n${err.stderr ?? ''}`,
        );
      });
      expect(result.stderr).not.toMatch(/Error/);
    },
    RUN_TIMEOUT_MS + 5_000,
  );
});
