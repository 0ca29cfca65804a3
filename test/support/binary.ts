import { spawnSync } from 'node:child_process';

/**
 * For `describe.runIf(requireBinary('python3'))`: true when the program is on PATH; otherwise
 * throws under CI=true (.ci/run installs it) and warns loudly elsewhere.
 */
export function requireBinary(name: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
  if (found) return true;
  const msg = `${name} is not installed`;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${msg} (.ci/run installs it)`);
  process.stderr.write(`\n!! SKIPPING tests that need ${name}: ${msg}\n`);
  return false;
}
