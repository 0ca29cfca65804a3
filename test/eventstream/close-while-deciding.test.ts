// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '../support/resume-helpers.js';
import { oneShot, runRequestCleanups, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('close() while a request is being decided', () => {
  it('a request whose async authorize resolves after close() gets 503, and server.close() completes', async () => {
    let release!: (ok: boolean) => void;
    let asked!: () => void;
    const authorizing = new Promise<void>((resolve) => (asked = resolve));
    const es = track({ authorize: () => new Promise<boolean>((resolve) => ((release = resolve), asked())) });
    const server = http.createServer((req, res) => void es.run(req, res, 'a'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const reply = oneShot(port, '/');
    await within(authorizing, 3000, 'authorize called');
    await es.close();
    release(true);
    const { status, body } = await reply;
    expect(status).toBe(503);
    expect(body).toMatch(/closed/);
    expect(es.stats().connections).toBe(0);
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 3000, 'server.close()');
  });
});
