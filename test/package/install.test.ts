/**
 * gripstream installed as a user installs it, outside this repository: from a clean clone of
 * the committed HEAD (no dist/), `npm pack` builds the tarball (`prepare`), and a fresh app
 * installs it with express and without ioredis. A second fresh app installs the clone as a
 * git dependency (`git+file://`), which npm builds the same way. In each app, an ESM import
 * and a CommonJS require each serve one event to a real EventSource over loopback, and both
 * builds share one singleton. In the tarball app, strict TypeScript with `skipLibCheck: false`
 * compiles an ESM and a CommonJS file against the installed declarations; the git app is
 * shown to hold exactly the same files, so that check holds there too.
 *
 * Needs git and the npm registry or a warm npm cache (installs prefer the cache).
 * Uncommitted changes are not in the clone: commit before relying on this suite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireRedis, startRedis } from '../support/redis.js';
import { sh, type Ran } from './shell.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_FIXTURE = fileURLToPath(new URL('./app', import.meta.url));
const REDIS_FROM_CJS = fileURLToPath(new URL('./redis-from-cjs.cjs', import.meta.url));
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM_TIMEOUT_MS = 240_000;

/** What the apps install beside gripstream: the versions this repository's tests run with (cached). */
const APP_DEPENDENCIES = ['express', 'eventsource', '@types/node', '@types/express'].map(
  (name) => `${name}@${installedVersion(name)}`,
);

/** Every file of the installed gripstream but its manifest (npm may normalise that), with its contents. */
function packageFiles(appDir: string): Map<string, string> {
  const root = path.join(appDir, 'node_modules', 'gripstream');
  const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f !== 'package.json');
  return new Map(
    files
      .filter((f) => fs.statSync(path.join(root, f)).isFile())
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(root, f), 'utf8')]),
  );
}

function installedVersion(name: string): string {
  const manifest = path.join(REPO_ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}

interface App {
  dir: string;
  installMs: number;
  /** Started as soon as the app is installed, while the other install still runs. */
  checks: { esm: Promise<Ran>; cjs: Promise<Ran>; tsc?: Promise<Ran> };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-install-'));
const clone = path.join(work, 'clone');
const timings: Record<string, number> = {};
let tarball = '';
let packWarnings: string[] = [];
const apps: Partial<Record<'tarball' | 'git', App>> = {};

async function freshApp(name: string, spec: string, typecheck: boolean): Promise<App> {
  const dir = path.join(work, name);
  fs.cpSync(APP_FIXTURE, dir, { recursive: true });
  const { ms } = await sh('npm', ['install', spec, ...APP_DEPENDENCIES], dir, NPM_TIMEOUT_MS);
  const checks = {
    esm: sh(process.execPath, ['esm.mjs'], dir, 60_000),
    cjs: sh(process.execPath, ['cjs.cjs'], dir, 60_000),
    tsc: typecheck ? sh(process.execPath, [TSC, '-p', 'tsconfig.json'], dir, 150_000) : undefined,
  };
  // Each is awaited by its test; a run that fails before its test starts is not unhandled.
  for (const check of Object.values(checks)) check?.catch(() => undefined);
  return { dir, installMs: ms, checks };
}

async function packAndInstall(): Promise<void> {
  // The clone borrows the repository's node_modules (the git install below does a full
  // install of its own); dist/ is not committed, so `npm pack` must build it.
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], clone, NPM_TIMEOUT_MS);
  timings.pack = packed.ms;
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
  tarball = path.join(work, info!.filename);
  packWarnings = packed.stderr.split('\n').filter((line) => /^npm (warn|error)/i.test(line));
  apps.tarball = await freshApp('tarball-app', tarball, true);
}

beforeAll(async () => {
  const started = Date.now();
  await sh('git', ['clone', '--quiet', REPO_ROOT, clone], work, 60_000);
  if (fs.existsSync(path.join(clone, 'dist'))) throw new Error('dist/ is committed: the clone would not test the build');
  // Both installs at once: the git one spends most of its time in npm, the other in tsc.
  const [, git] = await Promise.all([packAndInstall(), freshApp('git-app', `git+file://${clone}`, false)]);
  apps.git = git;
  timings.tarballInstall = apps.tarball!.installMs;
  timings.gitInstall = git.installMs;
  timings.setup = Date.now() - started;
  console.info(`[install] timings (ms): ${JSON.stringify(timings)}`);
}, 2 * NPM_TIMEOUT_MS + 60_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball ships dist (ESM, CommonJS, declarations), LICENSE, README and CHANGELOG; no sources, tests or maps', async () => {
  const { stdout } = await sh('tar', ['-tzf', tarball], work, 30_000);
  const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  for (const expected of [
    'package.json',
    'LICENSE',
    'README.md',
    'CHANGELOG.md',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/redisClient.d.ts',
    'dist/cjs/package.json',
    'dist/cjs/index.js',
    'dist/cjs/index.d.ts',
  ]) {
    expect(files).toContain(expected);
  }
  expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md'].includes(f))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  expect(packWarnings).toEqual([]);
});

test('npm publish --dry-run has nothing to warn about (beyond not being logged in)', async () => {
  // dist/ is there from the pack; --ignore-scripts keeps it from building a second time.
  const { stderr } = await sh('npm', ['publish', '--dry-run', '--ignore-scripts'], clone, 60_000);
  const warnings = stderr
    .split('\n')
    .filter((line) => /^npm (warn|error)/i.test(line))
    .filter((line) => !/requires you to be logged in/.test(line));
  expect(warnings).toEqual([]);
});

test('no declaration imports ioredis (the optional peer)', async () => {
  const { stdout } = await sh('tar', ['-xzf', tarball, '-O', '--wildcards', 'package/dist/*.d.ts'], work, 30_000);
  expect(stdout).toContain('RedisClientLike');
  expect(stdout).not.toMatch(/from ['"]ioredis['"]/);
});

describe.each(['tarball', 'git'] as const)('installed from the %s', (kind) => {
  const app = (): App => {
    const installed = apps[kind];
    if (installed === undefined) throw new Error(`the ${kind} app was not installed`);
    return installed;
  };

  test('installs without ioredis, with dist built', () => {
    const modules = path.join(app().dir, 'node_modules');
    expect(fs.existsSync(path.join(modules, 'ioredis'))).toBe(false);
    expect(fs.existsSync(path.join(modules, 'gripstream', 'dist', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(modules, 'gripstream', 'dist', 'cjs', 'index.js'))).toBe(true);
  });

  test('ESM import: one publish reaches a real EventSource', { timeout: 70_000 }, async () => {
    const { stdout } = await app().checks.esm;
    const result = JSON.parse(stdout) as { resolved: string; received: { data: unknown; id: string } };
    expect(result.resolved).toMatch(/node_modules\/gripstream\/dist\/index\.js$/);
    expect(result.received.data).toEqual({ text: 'hello' });
    expect(result.received.id).not.toBe('');
  });

  test('CommonJS require: one publish reaches a real EventSource; require and import share singletons', { timeout: 70_000 }, async () => {
    const { stdout } = await app().checks.cjs;
    const result = JSON.parse(stdout) as {
      resolved: string;
      received: { data: unknown };
      sideEffectFree: boolean;
      twoBuilds: boolean;
      sameSingleton: boolean;
      errorCode: string;
      redisRefusal: string;
    };
    expect(result.resolved).toMatch(/node_modules\/gripstream\/dist\/cjs\/index\.js$/);
    expect(result.received.data).toEqual({ text: 'hello' });
    expect(result.sideEffectFree).toBe(true); // sideEffects: false holds: loading touched no global
    expect(result.twoBuilds).toBe(true); // the dual build really loaded twice...
    expect(result.sameSingleton).toBe(true); // ...and still one instance per key
    expect(result.errorCode).toBe('ERR_CLOSED');
    expect(result.redisRefusal).toMatch(/^ERR_INVALID_CONFIG: .*npm install ioredis/);
  });

  if (kind === 'tarball') {
    test('strict TypeScript with skipLibCheck: false compiles an ESM and a CommonJS file', { timeout: 160_000 }, async () => {
      const tsconfig = JSON.parse(fs.readFileSync(path.join(app().dir, 'tsconfig.json'), 'utf8')) as {
        compilerOptions: { strict: boolean; skipLibCheck: boolean };
      };
      expect(tsconfig.compilerOptions).toMatchObject({ strict: true, skipLibCheck: false });
      await app().checks.tsc;
    });
  } else {
    // The same files as the tarball's, so its TypeScript check holds here too (and the CPU of
    // a second compile is saved).
    test('installs exactly the files the tarball installs', () => {
      expect(packageFiles(app().dir)).toEqual(packageFiles(apps.tarball!.dir));
    });
  }
});

describe.runIf(requireRedis())('the CommonJS build with ioredis installed', () => {
  test('history.redis loads ioredis through require and keeps the events in a real Redis', async () => {
    const redis = await startRedis();
    try {
      const entry = path.join(clone, 'dist', 'cjs', 'index.js');
      const { stdout } = await sh(process.execPath, [REDIS_FROM_CJS, entry, redis.url], clone, 30_000);
      expect(JSON.parse(stdout)).toEqual({ published: true, ioredisRequired: true });
      const keys = await sh('redis-cli', ['-p', String(redis.port), 'DBSIZE'], work, 10_000);
      expect(Number(keys.stdout.trim())).toBeGreaterThan(0);
    } finally {
      await redis.stop();
    }
  });
});
