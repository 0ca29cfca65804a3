/**
 * Processes a harness started itself, watched through Linux procfs and stopped by PID: alive
 * (and not a zombie), started for a given workdir (PID-reuse safe), signalled, awaited. Every
 * wait is bounded.
 */
import * as fs from 'node:fs';

const POLL_MS = 25;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true if `p` settles within `ms`, false otherwise. Never rejects. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The end of a long log, for an error message. */
export function tail(text: string, maxChars = 6000): string {
  return text.length <= maxChars ? text : `…(${text.length - maxChars} chars cut)…\n${text.slice(-maxChars)}`;
}

/** Alive and not a zombie. Zombies hold no ports and only wait for their parent to reap them. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> ..." — comm may contain spaces/parens, so split after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // No procfs (not Linux): fall back to signal 0.
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** True when the live process `pid` was started for this workdir (guards against PID reuse). */
export function pidBelongsTo(pid: number, workdir: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workdir);
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid`; a process already gone is not an error. */
export function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Alive and possibly ours: cmdline mentions the workdir, or is empty because the process is
 * still tearing down after a signal (its memory, hence its cmdline, is gone before it turns
 * into a zombie, and it may still hold its listening sockets at that point).
 */
export function pidMaybeOurs(pid: number, workdir: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes(workdir);
  } catch {
    return pidAlive(pid);
  }
}

/** Resolves true once none of `pids` is alive (or, given `workdir`, possibly ours), false after `ms`. */
export async function waitAllDead(pids: number[], ms: number, workdir?: string): Promise<boolean> {
  const deadline = Date.now() + ms;
  const alive = (p: number): boolean => (workdir === undefined ? pidAlive(p) : pidMaybeOurs(p, workdir));
  for (;;) {
    if (!pids.some(alive)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}
