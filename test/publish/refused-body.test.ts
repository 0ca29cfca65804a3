import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, TokenVerifier, createPublishHandler, mintToken } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { startHttp } from '../support/server.js';

// A publish refused before its body was read (no token, too large) is answered at once. A client
// that sends its whole body before it reads (Python's urllib, curl) must then get that answer,
// not a reset: the connection may only close once the rest of the body has arrived.

afterEach(runCleanups);

const SECRET = 'a-publish-secret-of-at-least-32-bytes!';
const BODY_BYTES = 4 * 1024 * 1024;

async function publishServer(): Promise<{ host: string; port: number }> {
  const es = track(new EventStream());
  const publish = createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }) });
  const { url } = await startHttp((req, res) => void publish(req, res));
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

/** Sends the head, waits for the answer's head, then sends the whole body; resolves with what it saw. */
async function sendAfterAnswer(where: { host: string; port: number }, head: string, before = 64 * 1024): Promise<{ reply: string; error: Error | undefined; ended: boolean }> {
  const socket: Socket = connect(where.port, where.host);
  defer(() => socket.destroy());
  await once(socket, 'connect');
  let reply = '';
  let error: Error | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
  socket.on('error', (err) => (error = err));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.once('end', () => (ended = true));
  socket.write(head);
  socket.write(Buffer.alloc(before, 0x20));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within 5 s; got ${JSON.stringify(reply)}`)), 5000);
    const check = (): void => {
      if (!reply.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      socket.off('data', check);
      resolve();
    };
    socket.on('data', check);
    check();
  });
  // Only now the rest: by the time it arrives, the answer has long been sent.
  for (let sent = before; sent < BODY_BYTES && error === undefined; sent += 256 * 1024) {
    if (!socket.write(Buffer.alloc(256 * 1024, 0x20))) await Promise.race([once(socket, 'drain'), closed]);
  }
  socket.end();
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection did not close within 10 s')), 10_000))]);
  return { reply, error, ended };
}

describe('a publish refused before its body was read', () => {
  it('without a token: the client sends the rest of its body, reads 401, and the connection closes cleanly', async () => {
    const server = await publishServer();
    const seen = await sendAfterAnswer(server, `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`);
    expect(seen.error).toBeUndefined();
    expect(seen.reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(seen.reply).toContain('"code":"ERR_TOKEN_MISSING"');
    expect(seen.reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(seen.ended).toBe(true);
  });

  it('too large: 413 first, then a clean close once the body is in', async () => {
    const server = await publishServer();
    const token = await mintToken({ secret: SECRET, publish: ['*'] });
    const seen = await sendAfterAnswer(
      server,
      `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`,
      1024 * 1024 + 64 * 1024,
    );
    expect(seen.error).toBeUndefined();
    expect(seen.reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(seen.reply).toContain('"code":"ERR_BODY_TOO_LARGE"');
    expect(seen.ended).toBe(true);
  });
});
