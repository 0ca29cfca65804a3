/**
 * What the numbers were measured on, printed with every report: figures from different
 * machines are not comparable, only ratios from one run are.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  totalMemGiB: number;
  node: string;
  os: string;
  fdSoftLimit: number;
  fdHardLimit: number;
  libraries: Record<string, string>;
}

const LIBRARIES = ['@fanoutio/eventstream', 'better-sse', 'sse-channel'];

export function machineInfo(): MachineInfo {
  const [soft, hard] = fileDescriptorLimits();
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fdSoftLimit: soft,
    fdHardLimit: hard,
    libraries: Object.fromEntries(LIBRARIES.map((name) => [name, installedVersion(name)])),
  };
}

/**
 * The limit children inherit is the shell's `ulimit -n`; Node has no API to read it, so
 * ask a shell (children are spawned with the same limits as this process).
 */
function fileDescriptorLimits(): [number, number] {
  const probe = spawnSync('sh', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8', timeout: 5_000 });
  const [soft, hard] = (probe.stdout ?? '').trim().split('\n').map(parseLimit);
  return [soft ?? NaN, hard ?? NaN];
}

function parseLimit(text: string): number {
  return text.trim() === 'unlimited' ? Infinity : Number(text);
}

function installedVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}
