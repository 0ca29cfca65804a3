// Defects found by hostile testing of the request side (issue 16); each test failed before its fix.
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_TRUNCATED_EVENT, InvalidEventError } from '../../src/index.js';
import { MAX_EVENT_ID_LENGTH } from '../../src/sse/eventId.js';
import { dechunk, rawGet, rawRequest } from '../support/resume-helpers.js';
import { runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('one id rule for publish and Last-Event-ID', () => {
  it.each([
    ['a TAB', 'a\tb'],
    ['an ESC', '\u001b[2J'],
    ['a DEL', 'a\u007fb'],
    ['a leading space', ' a'],
    ['a trailing tab', 'a\t'],
    ['a lone surrogate', 'a\ud800b'],
    [`${MAX_EVENT_ID_LENGTH + 1} characters`, 'x'.repeat(MAX_EVENT_ID_LENGTH + 1)],
    ['the empty id (it would reset the browser\'s last id)', ''],
  ])('publishEvent refuses an id with %s (InvalidEventError), and delivers nothing', async (_what, id) => {
    const es = track();
    await expect(es.publishEvent('a', { event: 'm', data: 1, id })).rejects.toBeInstanceOf(InvalidEventError);
    expect(es.stats().eventsPublished).toBe(0);
  });

  it.each([
    ['the longest id', 'L'.repeat(MAX_EVENT_ID_LENGTH)],
    ['UTF-8 text', 'café-日本-😀'],
    ['inner spaces', 'a b c'],
  ])('an id that publish accepts comes back exactly as Last-Event-ID: %s', async (_what, id) => {
    const es = track();
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    await es.publishEvent('a', { event: 'm', data: 1, id });
    await es.publishEvent('a', { event: 'm', data: 2 });
    // As a browser sends it: the id's UTF-8 bytes.
    const reply = await rawRequest(srv.port, rawGet('/', { 'Last-Event-ID': Buffer.from(id, 'utf8') }), {
      ms: 5000,
      until: (text) => text.includes('data: 2\n'),
    });
    expect(reply.status).toBe(200);
    const body = dechunk(Buffer.from(reply.body, 'utf8')).toString('utf8');
    expect(body).not.toContain(HISTORY_TRUNCATED_EVENT);
    expect(body).toContain('event: m\ndata: 2\n');
    expect(body).not.toContain('data: 1\n');
  });
});
