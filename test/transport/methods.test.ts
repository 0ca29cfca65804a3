// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { header, oneShot, runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('HEAD and other methods on a stream route', () => {
  it('HEAD on a stream route gets the stream headers and ends; it is no connection', async () => {
    const es = track();
    const app = express();
    app.get('/e', es('a'));
    const srv = await serve(app);
    const reply = await oneShot(srv.port, '/e', {}, 'HEAD');
    expect(reply.status).toBe(200);
    expect(reply.closedByServer).toBe(true);
    expect(header(reply.head, 'Content-Type')).toBe('text/event-stream');
    expect(reply.body).toBe('');
    expect(es.stats().connections).toBe(0);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s gets 405 with Allow: GET, HEAD', async (method) => {
    const es = track();
    const app = express();
    app.all('/e', es('a'));
    const srv = await serve(app);
    const reply = await oneShot(srv.port, '/e', { 'Content-Length': '0' }, method);
    expect(reply.status).toBe(405);
    expect(header(reply.head, 'Allow')).toBe('GET, HEAD');
    expect(reply.body).toMatch(/^[^\n]+\n$/);
    expect(es.stats().connections).toBe(0);
  });

  it('through es.fetch too: HEAD gets the headers and no stream, POST gets 405 with Allow', async () => {
    const es = track();
    const head = await es.fetch(new Request('http://x/', { method: 'HEAD' }), 'a');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream');
    expect(head.body).toBeNull();
    const post = await es.fetch(new Request('http://x/', { method: 'POST', body: 'x' }), 'a');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(es.stats().connections).toBe(0);
  });
});
