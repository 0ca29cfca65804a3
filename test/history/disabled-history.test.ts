// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { SseClient } from '../support/resume-helpers.js';
import { runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('Last-Event-ID with history: false', () => {
  it('is answered with history-truncated: nothing missed can be vouched for', async () => {
    const es = track({ history: false });
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    const client = await SseClient.open(srv.url, { headers: { 'last-event-id': '42' } });
    await client.waitFor((c) => c.events.length >= 2, 3000, 'truncation notice');
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT]);
    expect(client.events[1]!.data).toBe('{"lastEventId":"42"}');
    await client.close();
  });

  it('a stream without Last-Event-ID gets no notice, and events carry no id', async () => {
    const es = track({ history: false });
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    const client = await SseClient.open(srv.url);
    await client.waitForOpen();
    await es.publishEvent('a', { event: 'm', data: 1 });
    await client.waitForData(1);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'm']);
    expect(client.events[1]!.id).toBeUndefined();
    await client.close();
  });
});
