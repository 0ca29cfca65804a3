/**
 * Runs npm, git, node and tsc for the install suite: each child in its own process group (so
 * a timeout kills everything it started), output collected, every run bounded.
 */
import { spawn } from 'node:child_process';

export interface Ran {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child: the npm variables of an enclosing `npm test` removed (a nested
 * npm would read them as its own configuration), and no NODE_ENV (vitest's 'test').
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || name === 'INIT_CWD' || name === 'NODE_ENV') continue;
    env[name] = value;
  }
  // Installs come from the local cache when it has them (the registry otherwise).
  env.npm_config_prefer_offline = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_update_notifier = 'false';
  return env;
}

function tail(text: string, max = 3000): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

/** Resolves with the output when `command` exits 0; rejects with its output otherwise or on timeout. */
export function sh(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Ran> {
  const started = Date.now();
  const line = `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(new Error(`\`${line}\` timed out after ${timeoutMs} ms in ${cwd}\n${tail(stdout + stderr)}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`\`${line}\` could not start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ms: Date.now() - started, stdout, stderr });
      else reject(new Error(`\`${line}\` exited with ${code ?? signal} in ${cwd}\n${tail(stdout + stderr)}`));
    });
  });
}
