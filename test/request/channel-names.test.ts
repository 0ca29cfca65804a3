// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SseClient } from '../support/resume-helpers.js';
import { oneShot, runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('channel names from routes and publish calls', () => {
  it.each([
    ['DEL', '%7F'],
    ['LF', '%0A'],
    ['TAB', '%09'],
    ['CR', '%0D'],
    ['a space', '%20'],
  ])('a parameter of only %s is refused with 400, never trimmed into another channel', async (_what, param) => {
    const es = track();
    await es.publishEvent('news', { event: 'm', data: 1 });
    const app = express();
    app.get('/t/:suffix', es('news{suffix}'));
    app.get('/g/:ch', es('{ch}'));
    const srv = await serve(app);
    for (const path of [`/t/${param}`, `/g/news${param}`]) {
      const reply = await oneShot(srv.port, path);
      expect(reply.status, path).toBe(400);
      expect(reply.body).toMatch(/^[^\n]+\n$/);
    }
    expect(es.stats().connections).toBe(0);
  });

  it('a channel name that is not well-formed Unicode is refused (it cannot travel as UTF-8)', async () => {
    const es = track();
    await expect(es.publishEvent('a\ud800', { event: 'm' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHANNEL' });
    await expect(es.publishEvent('a\u007f', { event: 'm' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHANNEL' });
  });

  it('an async channel builder is awaited (node and fetch); its rejection is the route\'s error, not a 400', async () => {
    const es = track();
    const app = express();
    app.get('/rooms', es(async () => ['room-1', 'room-2']));
    app.get('/broken', es(async () => Promise.reject(new Error('rooms lookup failed'))));
    const srv = await serve(app);
    const client = await SseClient.open(`${srv.url}/rooms`);
    await client.waitForOpen();
    expect(es.stats().channels).toEqual({ 'room-1': 1, 'room-2': 1 });
    await client.close();
    expect((await oneShot(srv.port, '/broken')).status).toBe(500);

    const response = await es.fetch(new Request('http://x/', { headers: { accept: 'text/event-stream' } }), async () => 'room-3');
    expect(response.status).toBe(200);
    expect(es.stats().channels['room-3']).toBe(1);
    await response.body!.cancel();
  });
});
