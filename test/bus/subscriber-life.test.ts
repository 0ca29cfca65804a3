/**
 * A Subscriber's life: open until markClosed (called by end, destroy, or the transport when
 * the client left); once closed, nothing more reaches its sink. The sink is the web
 * transport's real one, read through its ReadableStream: no socket needed.
 */
import { describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type SubscriberHooks } from '../../src/bus/Subscriber.js';
import { WebStreamSink } from '../../src/transport/webStreamSink.js';
import { withTimeout } from '../support/wait.js';

function subscriberOf(): { subscriber: Subscriber; sink: WebStreamSink; scheduled: Subscriber[]; overflowed: Subscriber[] } {
  const scheduled: Subscriber[] = [];
  const overflowed: Subscriber[] = [];
  const hooks: SubscriberHooks = {
    maxBufferedBytes: 1024 * 1024,
    schedule: (s) => void scheduled.push(s),
    overflow: (s) => void overflowed.push(s),
  };
  const sink = new WebStreamSink(hooks.maxBufferedBytes);
  return { subscriber: new Subscriber(sink, ['news'], hooks), sink, scheduled, overflowed };
}

async function bodyOf(sink: WebStreamSink): Promise<string> {
  const reader = sink.readable.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await withTimeout(reader.read(), 5000, 'the body');
    if (done) return text;
    text += decoder.decode(value);
  }
}

describe('Subscriber: open, then closed for good', () => {
  it('open: frames sent in a tick are written at its flush', async () => {
    const { subscriber, sink, scheduled } = subscriberOf();
    expect(subscriber.closed).toBe(false);
    subscriber.send(Frame.of('data: 1\n\n'));
    subscriber.send(Frame.of('data: 2\n\n'));
    expect(scheduled).toEqual([subscriber]);
    subscriber.flush();
    sink.end();
    expect(await bodyOf(sink)).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('end() writes what the tick gathered, closes, then ends the sink; later frames go nowhere', async () => {
    const { subscriber, sink, scheduled } = subscriberOf();
    subscriber.send(Frame.of('data: gathered\n\n'));
    subscriber.end();
    expect(subscriber.closed).toBe(true);
    subscriber.send(Frame.of('data: late\n\n'));
    expect(scheduled).toHaveLength(1);
    expect(subscriber.bufferedBytes).toBe(0);
    subscriber.flush();
    expect(await bodyOf(sink)).toBe('data: gathered\n\n');
  });

  it('markClosed() (the client left) drops what was gathered and takes no more', async () => {
    const { subscriber, sink, scheduled } = subscriberOf();
    subscriber.send(Frame.of('data: gathered\n\n'));
    subscriber.markClosed();
    subscriber.flush();
    subscriber.send(Frame.of('data: late\n\n'));
    expect(scheduled).toHaveLength(1);
    expect(subscriber.bufferedBytes).toBe(0);
    sink.end();
    expect(await bodyOf(sink)).toBe('');
  });

  it('destroy() drops the sink once; end() after it does nothing', async () => {
    const { subscriber, sink } = subscriberOf();
    const closes: string[] = [];
    sink.onClose(() => closes.push('close'));
    subscriber.destroy();
    subscriber.end();
    subscriber.destroy();
    expect(subscriber.closed).toBe(true);
    expect(closes).toEqual(['close']);
    await expect(bodyOf(sink)).rejects.toThrow(/maxBufferedBytes/);
  });

  it('a closed subscriber leaves the stall watch', () => {
    const { subscriber } = subscriberOf();
    subscriber.markClosed();
    expect(subscriber.stallVerdict(Date.now(), 0)).toBe('within');
  });
});
