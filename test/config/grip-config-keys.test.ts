import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { publisherFromSpec } from '../../src/config/grip.js';
import { runCleanups, defer } from '../support/cleanup.js';
import { getOnce, startHttp } from '../support/server.js';
import { configError } from './configError.js';

// A grip config object is read by @fanoutio/grip, which ignores keys it does not know: a typo
// of `verify_key` left Grip-Sig unchecked, and a forged Grip-Sig got a hold (finding 02).

afterEach(runCleanups);

/** A Grip-Sig signed by no key at all. */
const FORGED = 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJwdXNocGluIiwiZXhwIjo5OTk5OTk5OTk5fQ.AAAA';
const URI = 'http://127.0.0.1:5561/';

function streamOf(grip: EventStreamOptions['grip']): EventStream {
  const es = new EventStream({ grip, history: false });
  defer(() => es.close());
  return es;
}

describe('grip config objects: keys', () => {
  it('with verify_key spelled right, a forged Grip-Sig gets no hold', async () => {
    const { url } = await startHttp(streamOf({ control_uri: URI, verify_key: 'a-secret-key-of-some-length' })('news'));
    const reply = await getOnce(url, { 'grip-sig': FORGED });
    expect(reply.headers['grip-hold']).toBeUndefined();
    expect(reply.status).toBe(403);
  });

  it.each([
    [{ control_uri: URI, verify_kye: 'k' }, 'unknown grip key "verify_kye" (did you mean "verify_key"?)'],
    [{ control_uri: URI, verifyKey: 'k' }, 'unknown grip key "verifyKey" (did you mean "verify_key"?)'],
    [{ control_uri: URI, kye: 'k' }, 'unknown grip key "kye" (did you mean "key"?)'],
    [{ controlUri: URI, key: 'k' }, 'unknown grip key "controlUri" (did you mean "control_uri"?)'],
  ])('a typo %j is refused at the constructor, so a forged Grip-Sig never meets a stream', (grip, message) => {
    expect(configError(() => new EventStream({ grip: grip as never, history: false })).message).toBe(message);
  });

  it('inside an array, the entry is named', () => {
    expect(configError(() => publisherFromSpec([{ control_uri: URI }, { control_uri: URI, verify_kye: 'k' }] as never)).message).toBe(
      'unknown grip[1] key "verify_kye" (did you mean "verify_key"?)',
    );
  });

  it('inherited keys are not read, and a throwing getter is an InvalidConfigError', () => {
    expect(configError(() => publisherFromSpec(Object.create({ control_uri: URI, verify_key: 'k' }) as never)).message).toMatch(/^grip has inherited keys \("control_uri", "verify_key"\)/);
    const throwing = { control_uri: URI, get verify_key(): string { throw new Error('boom'); } };
    expect(configError(() => publisherFromSpec(throwing)).message).toMatch(/^grip cannot be read: boom/);
  });

  it('grip: [] is refused (a publisher with no proxy delivers nothing and checks no signature)', () => {
    expect(configError(() => publisherFromSpec([])).message).toMatch(/^grip must be a GRIP URL, a config or a non-empty array of configs, got \[\]/);
  });

  it('every key @fanoutio/grip reads is accepted', () => {
    const publisher = publisherFromSpec({ control_uri: URI, control_iss: 'pushpin', key: 'k'.repeat(32), verify_iss: 'pushpin', verify_key: 'v'.repeat(32), user: 'u', pass: 'p' });
    expect(publisher?.clients).toHaveLength(1);
  });
});

describe('grip config objects: read once (finding 22)', () => {
  it('a control_uri getter is read once: what was checked is what the publisher uses', () => {
    let reads = 0;
    const grip = {
      get control_uri(): string {
        reads++;
        return reads === 1 ? URI : 'file:///etc/passwd';
      },
    };
    const publisher = publisherFromSpec(grip);
    expect(reads).toBe(1);
    expect((publisher?.clients[0] as unknown as { publishUri: string }).publishUri).toBe(`${URI}publish/`);
  });
});

describe('grip URL messages (finding 24)', () => {
  it("another scheme is named, not 'fixed' by prefixing http://", () => {
    expect(configError(() => publisherFromSpec('file:///etc/passwd')).message).toBe(
      `grip must be an http:// or https:// URL, got the scheme "file:": give the proxy's publish address, e.g. 'http://127.0.0.1:5561' (Pushpin)`,
    );
  });
});

describe('GRIP URL parameters', () => {
  it.each([['kye'], ['Key'], ['verify_key'], ['verifykey'], ['isss']])('a typo of a key parameter (%s) is refused, naming only the parameter', (name) => {
    const err = configError(() => new EventStream({ grip: `http://127.0.0.1:5561/?iss=pushpin&${name}=s3cret-value`, history: false }));
    expect(err.message).toMatch(new RegExp(`^grip URL has the parameter "${name}"`));
    expect(err.message).not.toContain('s3cret-value');
  });

  it('other parameters pass through, as @fanoutio/grip passes them to the proxy', () => {
    expect(publisherFromSpec('http://127.0.0.1:5561/?iss=pushpin&key=changeme&id=7&verify-iss=x')?.clients).toHaveLength(1);
  });
});
