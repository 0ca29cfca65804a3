import { once } from 'node:events';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_CHANNEL, EventStream, type DashboardSnapshot } from '../../src/index.js';
import { launchChromium, shouldRunBrowserTests } from '../support/browser-chromium.js';
import { defer, runCleanups } from '../support/cleanup.js';

// The operator page in a real Chromium while the server carries streams and publishes: live
// figures, top channels, nothing of the events' data, nothing loaded from elsewhere, and the
// same authorize as the streams. UPDATE_SCREENSHOT=1 rewrites docs/dashboard.png.

afterEach(runCleanups);

const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const SECRET = 'TOP-SECRET-PAYLOAD';
const STEP_MS = 10_000;

interface App {
  base: string;
  es: EventStream;
  server: Server;
}

/** Express: streams at /events/:ch, the page at /ops for requests with the `ops=1` cookie. */
async function startApp(): Promise<App> {
  const es = new EventStream({
    authorize: (req, channels) => {
      // The page's requests come as node requests here (Express); fetch runtimes would give a Request.
      const headers = (req as { headers: Headers | IncomingHttpHeaders }).headers;
      if (channels[0] === DASHBOARD_CHANNEL) return /(?:^|;\s*)ops=1(?:;|$)/.test(String(headers instanceof Headers ? headers.get('cookie') : headers.cookie));
      return true;
    },
  });
  const app = express();
  app.get('/events/:ch', es('{ch}'));
  // Mounted with use(): Express strips the mount path, the page's own stream URL still works.
  app.use('/ops', es.dashboard({ interval: 250 }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    await es.close();
    // close() ended the page's streams too: the server closes without closeAllConnections.
    await new Promise((resolve) => server.close(resolve));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, es, server };
}

/** `n` streams on `channel`, read and discarded (aborted at clean-up). */
async function streams(base: string, channel: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const controller = new AbortController();
    const res = await fetch(`${base}/events/${channel}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    expect(res.status).toBe(200);
    void res.body!.pipeTo(new WritableStream()).catch(() => undefined);
    defer(() => controller.abort());
  }
}

/** Publishes to every channel every 20 ms until clean-up. */
function publishing(es: EventStream, channels: readonly string[]): void {
  let n = 0;
  const timer = setInterval(() => {
    for (const channel of channels) void es.publishEvent(channel, { event: 'm', data: { secret: SECRET, n: n++ } }).catch(() => undefined);
  }, 20);
  defer(() => clearInterval(timer));
}

describe('the operator page', () => {
  it('is refused without the dashboard authorization, and serves its figures as an event stream with it', async () => {
    const { base } = await startApp();
    const refused = await fetch(`${base}/ops`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('not authorized for the dashboard\n');
    expect((await fetch(`${base}/ops?stream`)).status).toBe(403);
    expect((await fetch(`${base}/ops`, { method: 'POST', headers: { cookie: 'ops=1' } })).status).toBe(405);

    const page = await fetch(`${base}/ops`, { headers: { cookie: 'ops=1' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'nonce-/);
    expect(await page.text()).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);

    await streams(base, 'lobby', 2);
    const controller = new AbortController();
    defer(() => controller.abort());
    const res = await fetch(`${base}/ops?stream`, { headers: { cookie: 'ops=1' }, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    const snapshot = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as DashboardSnapshot;
    expect(snapshot.streams.http1).toBe(2);
    expect(snapshot.topChannels).toEqual([{ channel: 'lobby', subscribers: 2 }]);
    expect(snapshot.redis).toBeNull();
  });

  describe.skipIf(!shouldRunBrowserTests())('in Chromium', () => {
    it('shows live figures and top channels under load, never event data, loading nothing from elsewhere', async () => {
      const { base, es } = await startApp();
      await streams(base, 'lobby', 15);
      await streams(base, 'room-2', 8);
      for (let u = 0; u < 5; u++) await streams(base, `user-${u}`, 1);
      publishing(es, ['lobby', 'room-2', 'user-0']);

      const browser = await launchChromium();
      defer(() => browser.close());
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      await context.addCookies([{ name: 'ops', value: '1', url: base }]);
      const page = await context.newPage();
      const elsewhere: string[] = [];
      const errors: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(base)) elsewhere.push(request.url());
      });
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.goto(`${base}/ops`, { timeout: STEP_MS });

      await page.locator('#streams').filter({ hasText: /^28$/ }).waitFor({ timeout: STEP_MS });
      await page.locator('#publish-rate').filter({ hasText: /^[1-9][\d.]*k?\/s$/ }).waitFor({ timeout: STEP_MS });
      await page.locator('#delivery-rate').filter({ hasText: /^[1-9][\d.]*k?\/s$/ }).waitFor({ timeout: STEP_MS });
      const top = await page.locator('#top tr').allTextContents();
      expect(top.slice(0, 2)).toEqual(['lobby15', 'room-28']);
      expect(await page.locator('#subscriptions').textContent()).toBe('28');
      expect(await page.locator('#redis').textContent()).toBe('not used');
      expect(await page.locator('#status').textContent()).toMatch(/^live · /);

      const html = await page.content();
      expect(html).not.toContain(SECRET);
      expect(elsewhere).toEqual([]);
      expect(errors).toEqual([]);
      if (process.env.UPDATE_SCREENSHOT === '1') {
        // A picture, not a synchronisation: let the charts draw some points first.
        await page.waitForTimeout(4000);
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      }
    });
  });
});
