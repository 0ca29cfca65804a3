import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from '../support/build.js';

// A Redis URL without the optional ioredis is refused by the constructor, in both builds.
// The built package is copied into an app whose node_modules has gripstream's own
// dependencies (linked) but no ioredis, so nothing on the way up can find it.

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
let app: string;

beforeAll(async () => {
  await buildIfStale();
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-no-ioredis-'));
  const target = path.join(app, 'node_modules', 'gripstream');
  fs.mkdirSync(target, { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(target, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(target, 'package.json'));
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(dependencies)) {
    const link = path.join(app, 'node_modules', dep);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules', dep), link);
  }
}, 120_000);

afterAll(() => {
  if (app !== undefined) fs.rmSync(app, { recursive: true, force: true });
});

const script = (load: string): string => `
${load}
try {
  new EventStream({ redis: 'redis://127.0.0.1:9' });
  console.log('accepted');
} catch (err) {
  console.log(err.code + ': ' + err.message);
}`;

describe('redis without ioredis installed', () => {
  it.each([
    ['ESM', 'esm.mjs', "import { EventStream } from 'gripstream';"],
    ['CommonJS', 'cjs.cjs', "const { EventStream } = require('gripstream');"],
  ])('%s: InvalidConfigError from the constructor, saying to install it', async (_name, file, load) => {
    fs.writeFileSync(path.join(app, file), script(load));
    const { stdout } = await run(process.execPath, [file], { cwd: app, timeout: 20_000 });
    expect(stdout.trim()).toBe(
      'ERR_INVALID_CONFIG: a Redis URL (127.0.0.1:9) needs the optional package ioredis, which is not installed: npm install ioredis, or give a Redis client you made',
    );
  });
});
