import { describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { EdgeEventStream } from '../../src/edge.js';
import { configError } from './configError.js';

// EdgeEventStream wrote gripPrefix into Grip-Channel unchecked: 'a,b' or 'x;prev-id=7;' changed
// the header's structure (finding 14). It now takes the rule EventStream takes, with its message.

const GRIP = 'http://127.0.0.1:5561/?iss=pushpin&key=changeme';

describe('EdgeEventStream gripPrefix and grip, as EventStream', () => {
  it.each([['a,b'], ['x;prev-id=7;'], ['q"'], [' events-'], [5], [{}]])('gripPrefix %j: the same refusal, the same message', (gripPrefix) => {
    const node = configError(() => new EventStream({ grip: GRIP, gripPrefix: gripPrefix as string, history: false }));
    const edge = configError(() => new EdgeEventStream({ grip: GRIP, gripPrefix: gripPrefix as string }));
    expect(edge.message).toBe(node.message);
  });

  it('grip: [] is refused by both', () => {
    const node = configError(() => new EventStream({ grip: [], history: false }));
    const edge = configError(() => new EdgeEventStream({ grip: [] }));
    expect(edge.message).toBe(node.message);
  });

  it('a throwing getter among the options is an InvalidConfigError', () => {
    const options = { grip: GRIP, get gripPrefix(): string { throw new Error('boom'); } };
    expect(configError(() => new EdgeEventStream(options)).message).toMatch(/^EdgeEventStream options cannot be read: boom/);
  });

  it('a good prefix is kept', () => {
    expect(() => new EdgeEventStream({ grip: GRIP, gripPrefix: 'app.' })).not.toThrow();
  });
});
