import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { shouldRunBrowserTests, useChromium } from '../support/browser-chromium.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { build, type AppContext } from '../auth/koa-session-app.js';
import { mayListen } from '../auth/scenario.js';

// The per-user stream behind a cookie login, in a real Chromium: the page logs in with fetch,
// the session cookie is HttpOnly (the page's script cannot read it), and a plain EventSource
// sends it by itself; the Koa channel function reads the user from ctx.state. Before the login,
// the page tells the 401 and its reason with fetch, and the EventSource gives up.

const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.notes = [];
(async () => {
  const refused = await fetch('/me/events', { headers: { accept: 'text/event-stream' } });
  window.refused = { status: refused.status, body: await refused.text() };
  window.anonymousState = await new Promise((resolve) => {
    const source = new EventSource('/me/events');
    source.onerror = () => { resolve(source.readyState); source.close(); };
  });
  const login = await fetch('/login', { method: 'POST', body: JSON.stringify({ user: 'alice' }) });
  window.login = { status: login.status, scriptSees: document.cookie };
  const source = new EventSource('/me/events');
  source.addEventListener('stream-open', () => { window.opened = true; });
  source.addEventListener('note', (e) => window.notes.push(e.data));
})();
</script>`;

afterEach(runCleanups);

describe.skipIf(!shouldRunBrowserTests())('Chromium: a per-user stream behind an HttpOnly session cookie (Koa)', () => {
  const browser = useChromium();

  it("gets the logged-in user's events only; before the login, a 401 with its reason", async () => {
    const eventStream = track(new EventStream({ authorize: (ctx: AppContext, channels) => mayListen(ctx.state.user, channels) }));
    const app = build(eventStream);
    app.use(async (ctx, next) => {
      if (ctx.path !== '/') return next();
      ctx.type = 'html';
      ctx.body = PAGE;
    });
    const server = app.listen(0, '127.0.0.1');
    defer(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const page = await browser().newPage();
    defer(() => page.close());
    await page.goto(`${base}/`);
    await page.waitForFunction(() => (window as unknown as { opened?: boolean }).opened === true, undefined, { timeout: 10_000 });
    const state = (await page.evaluate(() => {
      const w = window as unknown as { refused: unknown; anonymousState: number; login: unknown };
      return { refused: w.refused, anonymousState: w.anonymousState, login: w.login };
    })) as { refused: { status: number; body: string }; anonymousState: number; login: { status: number; scriptSees: string } };
    expect(state.refused).toEqual({ status: 401, body: 'log in to listen to your events' });
    expect(state.anonymousState).toBe(2); // EventSource.CLOSED: a refused stream is not retried
    expect(state.login).toEqual({ status: 204, scriptSees: '' }); // HttpOnly: sent, never readable

    await eventStream.publishEvent('user-bob', { event: 'note', data: 'for bob' });
    await eventStream.publishEvent('user-alice', { event: 'note', data: 'for alice' });
    await page.waitForFunction(() => (window as unknown as { notes: string[] }).notes.length > 0, undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { notes: string[] }).notes)).toEqual(['"for alice"']);
    expect(eventStream.stats().channels).toEqual({ 'user-alice': 1 });
  });
});
