import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, InvalidChannelError } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { thrown } from '../support/thrown.js';

// A route template whose own text already breaks the channel-name rule could only answer
// 400 to every request: refused where it is declared.

afterEach(runCleanups);

function make(): EventStream {
  const es = new EventStream({ history: false });
  defer(() => es.close());
  return es;
}

describe('route templates that can never be valid', () => {
  it('text over 255 bytes before any parameter is refused (ASCII)', () => {
    const err = thrown(() => make()('x'.repeat(256) + '{id}'));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).toContain('its text without the parameters is already 256 bytes, over the 255-byte limit');
  });

  it('text over 255 bytes counted in UTF-8 is refused (64 emoji = 256 bytes)', () => {
    const err = thrown(() => make()('😀'.repeat(64) + '{id}'));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).toContain('already 256 bytes');
  });

  it('a lone surrogate in the text is refused', () => {
    const err = thrown(() => make()('\uD800{id}'));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).toContain('not well-formed Unicode');
  });

  it('templates that can fit still work: 255 bytes of text with a parameter is declared', () => {
    const es = make();
    expect(() => es('x'.repeat(250) + '{id}')).not.toThrow();
    expect(() => es('😀'.repeat(63) + '{id}')).not.toThrow();
  });

  it("the fix lists every refused character, '\"' included", () => {
    const err = thrown(() => make()('room"{id}'));
    expect(err).toBeInstanceOf(InvalidChannelError);
    expect(err.message).toContain(`without control characters, ',', ';' or '"'`);
  });
});
