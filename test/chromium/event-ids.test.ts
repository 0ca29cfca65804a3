/**
 * The one id rule (test/sse/event-id-rule.test.ts) in a real Chromium: every id that
 * publishing accepts is sent back by the browser's EventSource as Last-Event-ID, and resumes
 * exactly (no history-truncated).
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { MAX_EVENT_ID_LENGTH } from '../../src/sse/eventId.js';
import { shouldRunBrowserTests, useChromium } from '../support/browser-chromium.js';

const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.seen = [];
const source = new EventSource('/events');
for (const type of ['m', 'history-truncated']) {
  source.addEventListener(type, (e) => window.seen.push({ type, data: e.data, id: e.lastEventId }));
}
</script>`;

describe.skipIf(!shouldRunBrowserTests())('event ids round-trip through Chromium', () => {
  const browser = useChromium();

  it.each([
    ['UTF-8 text', 'café-日本-😀'],
    ['inner spaces and punctuation', 'a b:c,d;e="f"'],
    ['the longest id, in two-byte characters', 'é'.repeat(MAX_EVENT_ID_LENGTH)],
  ])('%s: sent back as Last-Event-ID byte for byte, and resumed exactly', async (_what, id) => {
    const es = new EventStream({ retry: 100, keepAliveInterval: 60_000 });
    const lastEventIds: string[] = [];
    const handler = es('ids');
    const server = http.createServer((req, res) => {
      if (req.url === '/events') {
        const header = req.headers['last-event-id'];
        if (typeof header === 'string') lastEventIds.push(Buffer.from(header, 'latin1').toString('utf8'));
        void handler(req, res);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const page = await browser().newPage();
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await waitFor(() => es.stats().connections === 1, 'browser connected');
      await es.publishEvent('ids', { event: 'm', data: 1, id });
      await page.waitForFunction(() => (window as unknown as { seen: unknown[] }).seen.length >= 1, undefined, { timeout: 8000 });
      // The connection drops; an event is published while the browser is away.
      server.closeAllConnections();
      await waitFor(() => es.stats().connections === 0, 'disconnected');
      await es.publishEvent('ids', { event: 'm', data: 2 });
      await page.waitForFunction(() => (window as unknown as { seen: unknown[] }).seen.length >= 2, undefined, { timeout: 8000 });
      const seen = await page.evaluate(() => (window as unknown as { seen: Array<{ type: string; data: string; id: string }> }).seen);
      expect(seen.map((e) => [e.type, e.data])).toEqual([
        ['m', '1'],
        ['m', '2'],
      ]);
      expect(seen[0]!.id).toBe(id);
      expect(lastEventIds).toEqual([id]);
    } finally {
      await page.close();
      await es.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);
});

async function waitFor(condition: () => boolean, what: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
