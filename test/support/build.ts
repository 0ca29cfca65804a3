import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Newest modification time of any file under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    latest = Math.max(latest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

let building: Promise<void> | undefined;

/**
 * Suites that test the package as users get it (`import ... from 'gripstream'`) need `dist/` to
 * match `src/`. `npm install` builds it; after an edit to `src/` it is stale, so it is rebuilt
 * here, once per process, only when a source is newer than the oldest-possible build output.
 */
export function buildIfStale(): Promise<void> {
  building ??= (async () => {
    const built = fs.existsSync(path.join(root, 'dist', 'cjs', 'index.js'))
      ? fs.statSync(path.join(root, 'dist', 'cjs', 'index.js')).mtimeMs
      : 0;
    if (built > 0 && newest(path.join(root, 'src')) < built) return;
    // Test files run in parallel processes: one builds, the others wait for it (a build
    // empties dist/ first, so a second one would pull it from under the first's readers).
    const lock = path.join(root, '.tmp-build-lock');
    try {
      fs.mkdirSync(lock);
    } catch {
      const deadline = Date.now() + 120_000;
      while (fs.existsSync(lock) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    try {
      await run(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, timeout: 120_000 });
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  })();
  return building;
}
