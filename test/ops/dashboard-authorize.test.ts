import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_CHANNEL, EventStream, StreamRefusedError, type DashboardOptions, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';

// The operator page reads `authorize` as the streams do: a refusal object is truthy, and taken
// as a yes it opened the page to exactly the requests it refused.

afterEach(runCleanups);

async function page(options: EventStreamOptions, dashboard: DashboardOptions = {}): Promise<string> {
  const es = new EventStream(options);
  const handler = es.dashboard(dashboard);
  const server: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(async () => {
    await es.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe("the dashboard's authorize", () => {
  it('answers a refusal object from the stream authorize with its status, reason and challenge', async () => {
    const url = await page({
      authorize: (_req, channels) => (channels[0] === DASHBOARD_CHANNEL ? { status: 401, reason: 'log in as an operator' } : true),
    });
    const res = await fetch(url);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.text()).toBe('log in as an operator\n');
    const stream = await fetch(`${url}?stream`);
    expect(stream.status).toBe(401);
    await stream.body?.cancel();
  });

  it('answers a thrown StreamRefusedError with its status', async () => {
    const url = await page({
      authorize: () => {
        throw new StreamRefusedError(403, 'operators only');
      },
    });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('operators only\n');
  });

  it('refuses false with 403, opens on true', async () => {
    const refused = await page({}, { authorize: () => false });
    const res = await fetch(refused);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('not authorized for the dashboard\n');
    const allowed = await page({}, { authorize: async () => true });
    const ok = await fetch(allowed);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/html; charset=utf-8');
    await ok.body?.cancel();
  });

  it("answers the dashboard's own refusal object with its status, never the page", async () => {
    const url = await page({}, { authorize: () => ({ status: 403, reason: 'not from this network' }) });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('not from this network\n');
  });

  it('treats any other answer as the app’s mistake (500), never as a yes', async () => {
    const url = await page({ authorize: () => 'yes' as unknown as boolean });
    const res = await fetch(url);
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('<html');
  });
});
