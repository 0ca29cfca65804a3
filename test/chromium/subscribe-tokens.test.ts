import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, TokenVerifier, mintToken, tokenCookie } from '../../src/index.js';
import { shouldRunBrowserTests, useChromium } from '../support/browser-chromium.js';
import { runCleanups, track } from '../support/cleanup.js';
import { startHttp } from '../support/server.js';

// The browser path the docs recommend, in a real Chromium: a login route sets the token as an
// HttpOnly cookie with the default attributes, page scripts cannot read it, and a plain
// `new EventSource(url)` (which cannot send headers) is let in with it, for its room only.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

const PAGE = `<!doctype html><meta charset="utf-8"><title>rooms</title><script>
window.log = [];
window.open = (room) => new Promise((resolve) => {
  const source = new EventSource('/events/' + room);
  source.addEventListener('stream-open', () => resolve('open'));
  source.addEventListener('message', (e) => window.log.push(room + ':' + e.data));
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve('refused'); };
});
</script>`;

describe.runIf(shouldRunBrowserTests())('subscription tokens in a real browser (Chromium)', () => {
  const browser = useChromium();
  afterEach(runCleanups);

  it('an EventSource gets in with the HttpOnly cookie, only for the rooms the token grants', async () => {
    const es = track(new EventStream({ tokens: new TokenVerifier({ secret: SECRET }) }));
    const stream = es.route('room-{room}');
    const { url } = await startHttp(async (req, res) => {
      if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      if (req.url === '/login' && req.method === 'POST') {
        const token = await mintToken({ secret: SECRET, subscribe: ['room-1'], subject: 'user-1' });
        return void res.writeHead(204, { 'set-cookie': tokenCookie(token, { maxAge: 300 }) }).end();
      }
      const room = /^\/events\/(\w+)$/.exec(req.url ?? '')?.[1];
      if (room !== undefined) return void stream(Object.assign(req, { params: { room } }), res);
      res.writeHead(404).end();
    });
    const page = await browser().newPage();
    try {
      await page.goto(url);
      // Before logging in: refused (401), and EventSource gives up.
      expect(await page.evaluate(() => (window as unknown as { open(r: string): Promise<string> }).open('1'))).toBe('refused');
      await page.evaluate(() => fetch('/login', { method: 'POST' }).then((r) => r.status));
      expect(await page.evaluate(() => document.cookie)).not.toContain('gripstream_token');
      expect(await page.evaluate(() => (window as unknown as { open(r: string): Promise<string> }).open('1'))).toBe('open');
      expect(await page.evaluate(() => (window as unknown as { open(r: string): Promise<string> }).open('2'))).toBe('refused');
      await es.publishEvent('room-1', { event: 'message', data: 'hello' });
      await es.publishEvent('room-2', { event: 'message', data: 'secret' });
      await page.waitForFunction(() => (window as unknown as { log: string[] }).log.length > 0, undefined, { timeout: 5000 });
      expect(await page.evaluate(() => (window as unknown as { log: string[] }).log)).toEqual(['1:"hello"']);
    } finally {
      await page.close();
    }
  });
});
