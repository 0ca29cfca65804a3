import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, type Incident } from '../../src/index.js';
import { runCleanups } from '../support/cleanup.js';
import { getOnce, startHttp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// The app's callbacks may be async. One that rejects must be treated like one that throws:
// found from outside, an async onIncident posting to a dead webhook ended the whole process
// (an unhandled rejection) when Redis went down, and with it every open stream.

afterEach(runCleanups);

/** Unhandled rejections seen while `run` goes, and for a few turns of the event loop after. */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await run();
    // A rejection is reported as unhandled after the microtasks of its turn: give it turns.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

const rejecting = (what: string) => async (): Promise<void> => {
  throw new Error(`${what} failed`);
};

describe('async app callbacks that reject', () => {
  it('onConnect, onDisconnect and onRefused: the streams are served and ended, nothing unhandled', async () => {
    const called: string[] = [];
    const es = new EventStream({
      logger: false,
      onConnect: async () => {
        called.push('connect');
        throw new Error('onConnect failed');
      },
      onDisconnect: async () => {
        called.push('disconnect');
        throw new Error('onDisconnect failed');
      },
      onRefused: async () => {
        called.push('refused');
        throw new Error('onRefused failed');
      },
    });
    const app = await startHttp((req, res) => void es('room')(req, res));
    const seen = await unhandledDuring(async () => {
      const client = await connectSse(`${app.url}/`, { types: ['m'] });
      await es.publishEvent('room', { event: 'm', data: 1 });
      expect((await client.nextEvent('m')).data).toBe('1');
      client.close();
      const refused = await getOnce(`${app.url}/`, { accept: 'text/html' });
      expect(refused.status).toBe(406);
      await es.close();
    });
    expect(called).toEqual(expect.arrayContaining(['connect', 'disconnect', 'refused']));
    expect(seen).toEqual([]);
  });

  it('an async onIncident and an async logger that reject: the incident is still reported, nothing unhandled', async () => {
    const incidents: Incident[] = [];
    const es = new EventStream({
      grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme',
      logger: { error: rejecting('logger.error'), warn: rejecting('logger.warn'), info: rejecting('logger.info') },
      onIncident: async (incident) => {
        incidents.push(incident);
        throw new Error('webhook failed');
      },
    });
    const seen = await unhandledDuring(async () => {
      await expect(es.publishEvent('room', { event: 'm', data: 1 })).rejects.toBeInstanceOf(GripPublishError);
      // close() reports what was gathered at once.
      await es.close();
    });
    expect(incidents.map((incident) => incident.kind)).toContain('grip-publish-failed');
    expect(seen).toEqual([]);
  });
});
