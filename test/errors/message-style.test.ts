import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidChannelError, InvalidEventError, type ServerSentEvent } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';

// One-line messages a person reads: no raw control characters, no empty type names, each
// fact once, and a fix.

afterEach(runCleanups);

function make(): EventStream {
  const es = new EventStream({ history: false });
  defer(() => es.close());
  return es;
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  return work.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('message style', () => {
  it('DEL in a channel name is printed escaped, not raw', async () => {
    const err = await rejection(make().publishEvent('a\x7fb', { event: 'm', data: 1 }));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('"a\\u007fb"');
  });

  it('DEL in an event id is printed escaped, not raw', async () => {
    const err = await rejection(make().publishEvent('c', { event: 'm', data: 1, id: 'x\x7f' }));
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('"x\\u007f"');
  });

  it('publishEvents(generator) names the type and says to spread it', async () => {
    function* events(): Generator<ServerSentEvent> {
      yield { event: 'm', data: 1 };
    }
    const err = await rejection(make().publishEvents('c', events() as unknown as ServerSentEvent[]));
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err.message).toBe('events must be an array of { event, data } objects, got a Generator: spread it into an array, [...events]');
  });

  it('a 2049-unit id: the length once, no split surrogate, and a fix', async () => {
    const id = '😀'.repeat(1024) + 'x';
    const err = await rejection(make().publishEvent('c', { event: 'm', data: 1, id }));
    expect(err).toBeInstanceOf(InvalidEventError);
    expect(err.message.match(/got/g) ?? []).toHaveLength(1);
    expect(err.message).toContain('at most 2048 UTF-16 code units (this one has 2049): shorten it');
    expect(err.message).not.toMatch(/\\ud83d/);
  });
});
