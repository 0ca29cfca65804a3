/**
 * An example server (examples/<name>/server.ts) started as its own process, as a user starts
 * it: PORT=0 on loopback, ready once it logs its URL. Killed after the test if still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { cleanups } from './recorded-stream.js';
import { WAIT_MS, Waiter } from './waiter.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ExampleProcess {
  child: ChildProcess;
  /** The base URL it logged. */
  base: string;
  /** SIGTERM; resolves with its exit code, rejects if it has not exited within 2 × WAIT_MS. */
  terminate(): Promise<number | null>;
}

/** Starts `script` (relative to the repository root) and waits (15 s at most) for its URL. */
export async function startExampleProcess(script: string): Promise<ExampleProcess> {
  // node --import tsx: one process (the tsx CLI would fork another), so kill() reaches it.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const started = new Waiter();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    started.notify();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const base = await started.until(() => output.match(/http:\/\/127\.0\.0\.1:\d+/)?.[0], 'the server to log its URL', 15_000);
  const terminate = async (): Promise<number | null> => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await Promise.race([
      exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit after SIGTERM: ${output}`)), 2 * WAIT_MS)),
    ])) as [number | null];
    return code;
  };
  return { child, base, terminate };
}
