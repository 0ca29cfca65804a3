/**
 * transport/refusal.ts: the one definition of a refused stream on the wire, and the node and
 * web transports giving the same refusal for the same request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { refusalReply, refusalResponse } from '../../src/transport/refusal.js';
import { runCleanups, track } from '../support/cleanup.js';
import { getOnce, startHttp } from '../support/server.js';

afterEach(runCleanups);

describe('refusalReply', () => {
  it('plain text by default, never cached, the reason on one line', () => {
    expect(refusalReply({ status: 400, reason: 'bad\r\nchannel\nname' })).toEqual({
      status: 400,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      body: 'bad channel name\n',
    });
  });

  it('keeps the decided headers and content type (a challenge, a JSON token refusal)', () => {
    const reply = refusalReply({ status: 401, reason: '{"code":"ERR_TOKEN_MISSING"}', headers: { 'WWW-Authenticate': 'Bearer' }, contentType: 'application/json' });
    expect(reply.headers).toEqual({ 'WWW-Authenticate': 'Bearer', 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    expect(reply.body).toBe('{"code":"ERR_TOKEN_MISSING"}\n');
  });

  it('as a web Response', async () => {
    const response = refusalResponse({ status: 503, reason: 'draining', headers: { 'Retry-After': '5' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('draining\n');
  });
});

describe('the node and web transports refuse alike', () => {
  const cases: { what: string; init: RequestInit; authorize?: () => boolean }[] = [
    { what: '406 for a request that does not accept event streams', init: { headers: { Accept: 'application/json' } } },
    { what: '405 with Allow for POST', init: { method: 'POST', headers: { Accept: 'text/event-stream' } } },
    { what: '403 from authorize', init: { headers: { Accept: 'text/event-stream' } }, authorize: () => false },
  ];
  for (const { what, init, authorize } of cases) {
    it(what, async () => {
      const es = track(new EventStream({ history: false, ...(authorize && { authorize }) }));
      const { url } = await startHttp((req, res) => void es.run(req, res, ['news']));
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const viaNode = init.method === 'POST' ? await post(url, headers) : await getOnce(`${url}/events`, headers);
      const viaWeb = await es.fetch(new Request('http://127.0.0.1/events', init), ['news']);
      expect(viaWeb.status).toBe(viaNode.status);
      expect(await viaWeb.text()).toBe(viaNode.body);
      for (const name of ['content-type', 'cache-control', 'allow', 'www-authenticate']) {
        expect([name, viaWeb.headers.get(name) ?? undefined]).toEqual([name, viaNode.headers[name]]);
      }
      expect(Number(viaNode.headers['content-length'])).toBe(Buffer.byteLength(viaNode.body));
    });
  }
});

async function post(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | undefined>; body: string }> {
  const response = await fetch(`${url}/events`, { method: 'POST', headers, signal: AbortSignal.timeout(5000) });
  return { status: response.status, headers: Object.fromEntries(response.headers.entries()), body: await response.text() };
}
