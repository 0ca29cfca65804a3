// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest, until } from '../support/resume-helpers.js';
import { runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('pipelined requests behind a stream', () => {
  it('100 pipelined stream requests on one socket: one stream, and 0 connections once the socket is gone', async () => {
    const es = track({ keepAliveInterval: 60_000 });
    let decided = 0;
    const handler = es('p');
    const srv = await serve((req, res) => {
      res.on('finish', () => decided++);
      void handler(req, res).then(() => decided++);
    });
    const socket = net.connect(srv.port, '127.0.0.1');
    await once(socket, 'connect');
    let head = '';
    socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    socket.write(request.repeat(100));
    // Every request has been handled (the first one streams; 99 were answered or subscribed).
    await until(() => decided >= 100, 5000, () => `handled ${decided} of 100`);
    await until(() => head.includes('stream-open'), 5000, 'first stream open');
    expect(es.stats().connections).toBe(1);
    socket.destroy();
    await until(() => es.stats().connections === 0, 3000, () => JSON.stringify(es.stats()));
    expect(es.stats().subscribers).toBe(0);
  });

  it('a pipelined request behind a stream gets its refusal once the stream ends (close())', async () => {
    const es = track({ keepAliveInterval: 60_000 });
    const handler = es('p');
    const srv = await serve((req, res) => void handler(req, res));
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    const reply = rawRequest(srv.port, request + request, { ms: 5000, until: (t) => /\r\n\r\n[^]*HTTP\/1\.1 400[^]*\r\n\r\n.*pipelined/.test(t) });
    await until(() => es.stats().connections === 1, 3000, 'stream open');
    await es.close();
    const text = (await reply).head + (await reply).body;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/HTTP\/1\.1 400/);
    expect(text).toMatch(/pipelined/);
  });
});
