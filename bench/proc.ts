/**
 * CPU and memory of other processes, from /proc (Linux): what a server made of several
 * processes (cluster workers, nginx workers, redis-server) costs all together.
 */
import { readFileSync } from 'node:fs';

/** `/proc/<pid>/stat` times are in clock ticks; Linux uses 100 per second everywhere. */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of `pid`, in µs (0 once it is gone). */
export function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // utime and stime are fields 14 and 15 of stat; after pid and (comm), 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of `pid` in bytes (0 once it is gone): its private pages plus its
 * share of the pages it shares. Unlike RSS, the PSS of several processes adds up without
 * counting a shared page (the node binary, nginx's shared memory zone) once per process.
 */
export function processPssBytes(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

/** The hard RLIMIT_NOFILE of this process. */
export function hardFdLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}

/** System-wide limits a run of 100,000 sockets meets before any per-process one. */
export function systemLimits(): Record<string, string> {
  const read = (name: string): string => {
    try {
      return readFileSync(`/proc/sys/${name}`, 'utf8').trim().replace(/\s+/g, ' ');
    } catch {
      return 'n/a';
    }
  };
  return {
    'fs.file-max': read('fs/file-max'),
    'fs.nr_open': read('fs/nr_open'),
    'net.ipv4.ip_local_port_range': read('net/ipv4/ip_local_port_range'),
    'net.core.somaxconn': read('net/core/somaxconn'),
    'net.ipv4.tcp_max_syn_backlog': read('net/ipv4/tcp_max_syn_backlog'),
    'hard RLIMIT_NOFILE (this process)': String(hardFdLimit()),
  };
}
