// A tiny detached `sh` holding the read end of a pipe from this process. When this
// process goes away in any way (exit, signal, SIGKILL, or a vitest worker *thread* being
// terminated, where process 'exit' handlers never run) the pipe reaches EOF and the guardian
// SIGKILLs the runner and the children listed in rundir/*.pid, checking that each PID's command
// line mentions the workdir (PID-reuse safe). stop()/kill() SIGKILL the guardian once
// everything is down, so it never acts after a normal stop.
import { spawn, type ChildProcess } from 'node:child_process';

const GUARDIAN_SCRIPT = `
cat >/dev/null 2>&1
W="$1"; R="$2"
own() { [ -r "/proc/$1/cmdline" ] && tr '\\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$W"; }
for f in "$W"/run/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f" 2>/dev/null)
  case "$p" in ''|*[!0-9]*) continue ;; esac
  own "$p" && kill -KILL "$p" 2>/dev/null
done
own "$R" && kill -KILL "$R" 2>/dev/null
[ "$3" = keep ] || rm -rf "$W"
`;

/** Starts the guardian for the runner `runnerPid` working in `workdir`; undefined if `sh` cannot start. */
export function spawnGuardian(workdir: string, runnerPid: number): ChildProcess | undefined {
  try {
    const keep = process.env.GRIPSTREAM_KEEP_PUSHPIN === '1' ? 'keep' : 'rm';
    const g = spawn('/bin/sh', ['-c', GUARDIAN_SCRIPT, 'pushpin-guardian', workdir, String(runnerPid), keep], {
      detached: true, // Ctrl-C in the test runner must not take the guardian down first
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    g.on('error', () => undefined);
    g.stdin?.on('error', () => undefined);
    g.unref();
    // Keep the write end open but do not let it hold the event loop.
    (g.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return g;
  } catch {
    return undefined;
  }
}

