/**
 * Test harness: run a real, fully isolated Pushpin (Debian's `pushpin` 1.36) on loopback.
 *
 * Each instance gets its own temp workdir holding pushpin.conf, routes, rundir (all ZeroMQ
 * endpoints are unix sockets there), logdir and a merged log file. The only TCP listeners are
 * the client-facing HTTP port (condure) and the control/publish HTTP port (pushpin-handler),
 * both bound to 127.0.0.1.
 *
 * Debian specifics handled here (see FACTS.md in the shared notes):
 *  - internal.conf points the proxy at the *system* zurl (/var/run/zurl), which never runs
 *    without systemd, so a private zurl is added to `services` and the proxy pointed at it;
 *  - the runner's children live in their own process groups and survive a SIGKILL of the
 *    runner, so they are tracked through rundir/*.pid and killed explicitly;
 *  - right after start, responses can be lost (ZeroMQ PUB/SUB slow joiner) and held requests
 *    refused with `500 Accept service unavailable.` for ~200 ms. startPushpin() therefore only
 *    returns after a round trip through Pushpin's built-in `test` target (a second route line,
 *    `gs-harness.invalid test`, matched only by that Host header); the zurl->origin path can
 *    still lose the very first response, so call `waitForOrigin()` before real clients.
 *
 * Every wait is bounded; nothing listens on anything but 127.0.0.1.
 *
 * This file starts an instance; the rest lives in support/pushpin/ (config files, the running
 * process, the guardian, the origin apps tests put behind it) and support/ports.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports.js';
import { sleep } from './processes.js';
import { configText, LONGEST_IPC_NAME, routesText, SUN_PATH_MAX, type Resolved } from './pushpin/config.js';
import { spawnGuardian } from './pushpin/guardian.js';
import { installSafetyNet, live, PushpinProcess, PushpinStartError } from './pushpin/process.js';
import type { PushpinInstance, PushpinOptions } from './pushpin/types.js';

export type { PushpinInstance, PushpinOptions } from './pushpin/types.js';

/** `pushpin` binary on PATH (executable file). */
export function pushpinAvailable(): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'pushpin');
    try {
      if (!fs.statSync(candidate).isFile()) continue;
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * For `describe.runIf(requirePushpin())`: true when pushpin is installed. Otherwise throws when
 * CI=true (so CI fails loudly) or warns loudly and returns false.
 */
export function requirePushpin(): boolean {
  if (pushpinAvailable()) return true;
  const msg = 'pushpin not installed: apt-get install -y pushpin';
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but ${msg} (the Pushpin integration tests must run in CI)`);
  }
  console.warn(`\n!!!!! SKIPPING Pushpin integration tests: ${msg} !!!!!\n`);
  return false;
}

async function pickPorts(opts: PushpinOptions): Promise<{ httpPort: number; publishPort: number }> {
  const httpPort = opts.httpPort ?? (await freePort());
  let publishPort = opts.publishPort ?? (await freePort());
  for (let i = 0; publishPort === httpPort && i < 5; i++) {
    if (opts.publishPort !== undefined) throw new Error('startPushpin: httpPort and publishPort must differ');
    publishPort = await freePort();
  }
  if (publishPort === httpPort) throw new Error('startPushpin: could not get two distinct free ports');
  return { httpPort, publishPort };
}

async function startOnce(opts: PushpinOptions): Promise<PushpinInstance> {
  const { httpPort, publishPort } = await pickPorts(opts);
  const targets = opts.origins && opts.origins.length > 0 ? opts.origins : [opts.originPort];
  for (const p of [...targets, httpPort, publishPort]) {
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new Error(`startPushpin: bad port ${p}`);
  }
  const resolved: Resolved = {
    targets,
    sigKey: opts.sigKey ?? 'changeme',
    sigIss: opts.sigIss ?? 'pushpin',
    messageWait: opts.messageWait ?? 5000,
    messageRate: opts.messageRate ?? 2500,
    messageHwm: opts.messageHwm ?? 25000,
    logLevel: opts.logLevel ?? 2,
    httpPort,
    publishPort,
  };

  const workdir = await fsp.mkdtemp(path.join(os.tmpdir(), 'gs-pushpin-'));
  const rundir = path.join(workdir, 'run');
  if (Buffer.byteLength(`${rundir}/gs${httpPort}-`) + LONGEST_IPC_NAME > SUN_PATH_MAX) {
    await fsp.rm(workdir, { recursive: true, force: true });
    throw new Error(`startPushpin: tmpdir path too long for unix sockets (${rundir}); set TMPDIR=/tmp`);
  }
  await fsp.mkdir(rundir);
  await fsp.mkdir(path.join(workdir, 'log'));
  const confPath = path.join(workdir, 'pushpin.conf');
  await fsp.writeFile(confPath, configText(workdir, resolved));
  await fsp.writeFile(path.join(workdir, 'routes'), routesText(targets));

  const logFd = fs.openSync(path.join(workdir, 'pushpin.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn('pushpin', ['--config', confPath, '--merge-output'], {
      cwd: workdir,
      detached: true, // own session/process group: the test runner's Ctrl-C does not reach it
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    fs.closeSync(logFd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const err = await Promise.race([spawnError, sleep(1000).then(() => new Error('no pid'))]);
    await fsp.rm(workdir, { recursive: true, force: true });
    throw new Error(`startPushpin: could not spawn pushpin: ${err.message}`);
  }
  child.unref(); // never keep the test process alive by itself; the safety net still kills it

  installSafetyNet();
  const inst = new PushpinProcess(workdir, httpPort, publishPort, child, resolved);
  inst.guardian = spawnGuardian(workdir, inst.pid);
  live.add(inst);
  try {
    await inst.waitReady();
  } catch (err) {
    await inst.kill().catch(() => undefined);
    throw err;
  }
  return inst;
}

/** Start an isolated Pushpin on loopback and wait until it is ready (bounded, 10 s). */
export async function startPushpin(opts: PushpinOptions): Promise<PushpinInstance> {
  if (!pushpinAvailable()) throw new Error('startPushpin: pushpin not installed: apt-get install -y pushpin');
  // With OS-chosen ports another process may grab a port between freePort() and the bind:
  // retry with fresh ports in that case only.
  const attempts = opts.httpPort === undefined && opts.publishPort === undefined ? 3 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PushpinStartError && err.portInUse)) throw err;
    }
  }
  throw lastErr;
}
