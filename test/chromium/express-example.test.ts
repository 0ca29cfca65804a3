import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { shouldRunBrowserTests, useChromium } from '../support/browser-chromium.js';
import { startExample, type ExampleServer } from '../support/browser-server.js';

// The Express example's page (examples/express/public/index.html) in a real Chromium: its
// EventSource gets events published from its own form and from POST /api/publish, and it
// reconnects by itself when the server restarts on the same port.
// UPDATE_SCREENSHOT=1 rewrites docs/screenshot.png.

const SCREENSHOT = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url));
const STEP_MS = 8000;

interface Item {
  label: string;
  text: string;
  id: string | undefined;
}

/** The page's event list: `<li>label: text <code>#id</code></li>`. */
async function listed(page: Page): Promise<Item[]> {
  const texts = await page.locator('#events li').allTextContents();
  return texts.map((text) => {
    const match = /^(.*?): (.*?) (?:#(\S+))?$/s.exec(text);
    if (match === null) throw new Error(`unexpected list item: ${JSON.stringify(text)}`);
    return { label: match[1]!, text: match[2]!, id: match[3] };
  });
}

async function waitForStatus(page: Page, status: 'open' | 'connecting'): Promise<void> {
  await page.locator('#status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor({ timeout: STEP_MS });
}

async function waitForItem(page: Page, text: string): Promise<void> {
  await page.locator('#events li').filter({ hasText: text }).first().waitFor({ timeout: STEP_MS });
}

async function publishViaApi(base: string, text: string): Promise<void> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'news', event: 'message', text }),
    signal: AbortSignal.timeout(STEP_MS),
  });
  expect(res.status).toBe(202);
  await res.arrayBuffer();
}

async function publishViaForm(page: Page, text: string): Promise<void> {
  await page.locator('input[name=text]').fill(text);
  await page.locator('#publish button').click();
}

describe.skipIf(!shouldRunBrowserTests())('the Express example page in Chromium', () => {
  const browser = useChromium();
  let page: Page | undefined;
  const servers: ExampleServer[] = [];
  const pageErrors: Error[] = [];

  afterEach(async () => {
    await page?.close();
    page = undefined;
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('shows events from the form and the API, and resumes by itself after a server restart, each event once', async () => {
    const first = await startExample();
    servers.push(first);
    page = await browser().newPage({ viewport: { width: 760, height: 320 } });
    page.on('pageerror', (err) => pageErrors.push(err));
    page.setDefaultTimeout(STEP_MS);

    await page.goto(`${first.base}/`);
    await waitForStatus(page, 'open');
    expect(first.eventStream.stats()).toMatchObject({ connections: 1, channels: { news: 1 } });

    // Typed into the page's form and clicked, as a person would.
    await publishViaForm(page, 'Hello from the form');
    await waitForItem(page, 'Hello from the form');
    expect(await page.locator('input[name=text]').inputValue()).toBe('');
    // From outside the page.
    await publishViaApi(first.base, 'Hello from POST /api/publish');
    await waitForItem(page, 'Hello from POST /api/publish');
    await publishViaForm(page, 'Server-Sent Events, no polling');
    await waitForItem(page, 'Server-Sent Events, no polling');

    const before = await listed(page);
    expect(before.map((i) => [i.label, i.text])).toEqual([
      ['message', 'Hello from the form'],
      ['message', 'Hello from POST /api/publish'],
      ['message', 'Server-Sent Events, no polling'],
    ]);
    for (const item of before) expect(item.id).toMatch(/^\d+$/);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    }

    // Restart: the old server goes away (connections cut), the page notices...
    const port = first.port;
    await first.stop();
    await waitForStatus(page, 'connecting');
    // ...and a new process's server comes up on the same port.
    const second = await startExample(port);
    servers.push(second);
    await waitForStatus(page, 'open');
    expect(second.eventStream.stats()).toMatchObject({ connections: 1, channels: { news: 1 } });

    await publishViaApi(second.base, 'After the restart (API)');
    await waitForItem(page, 'After the restart (API)');
    await publishViaForm(page, 'After the restart (form)');
    await waitForItem(page, 'After the restart (form)');
    // A last event on the same stream: anything doubled would have arrived before it.
    await publishViaApi(second.base, 'sentinel');
    await waitForItem(page, 'sentinel');

    const after = await listed(page);
    const messages = after.filter((i) => i.label === 'message');
    expect(messages.map((i) => i.text)).toEqual([
      'Hello from the form',
      'Hello from POST /api/publish',
      'Server-Sent Events, no polling',
      'After the restart (API)',
      'After the restart (form)',
      'sentinel',
    ]);
    expect(new Set(messages.map((i) => i.id)).size).toBe(messages.length);
    // The new process's history cannot vouch for the old ids: the page is told so, once,
    // with the id it resumed from.
    const notices = after.filter((i) => i.label !== 'message');
    expect(notices.map((i) => i.label)).toEqual(['history truncated']);
    expect(JSON.parse(notices[0]!.text)).toEqual({ lastEventId: before.at(-1)!.id });
    expect(pageErrors).toEqual([]);
  });
});
