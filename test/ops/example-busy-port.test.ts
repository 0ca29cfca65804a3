// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '../support/resume-helpers.js';
import { cleanups, runRequestCleanups } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('examples/express/server.ts on a busy port', () => {
  it('npm start on a busy port prints a one-line reason and exits non-zero', async () => {
    const busy = net.createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    cleanups.push(() => new Promise((resolve) => busy.close(resolve)));
    const { port } = busy.address() as net.AddressInfo;
    // tsx's shared transform cache (/tmp/tsx-*) can hand another checkout's compiled copy of the
    // same path; this test must run this checkout's script.
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'examples/express/server.ts'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', TSX_DISABLE_CACHE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await within(once(child, 'exit'), 20_000, 'example exits')) as [number | null];
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(new RegExp(`^cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use`));
    expect(stderr).not.toMatch(/TypeError/);
  }, 30_000);
});
