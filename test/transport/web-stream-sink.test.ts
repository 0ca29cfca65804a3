/**
 * The web transport's sink (transport/webStreamSink.ts) on its own: a real WHATWG
 * ReadableStream, read by its own reader, no server.
 */
import { describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import { WebStreamSink } from '../../src/transport/webStreamSink.js';
import { withTimeout } from '../support/wait.js';

const decoder = new TextDecoder();

function frameOf(bytes: number): Frame {
  return Frame.of('x'.repeat(bytes));
}

async function readAll(sink: WebStreamSink): Promise<string> {
  let text = '';
  const reader = sink.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value);
  }
}

describe('WebStreamSink', () => {
  it('queues frames in order for the reader, skips empty ones, and end() closes the body', async () => {
    const sink = new WebStreamSink(1024 * 1024);
    sink.write(Frame.of('data: 1\n\n'));
    sink.write(Frame.of(''));
    sink.writeAll([Frame.of('data: 2\n\n'), Frame.of('data: é\n\n')]);
    sink.end();
    expect(await withTimeout(readAll(sink), 5000, 'the body')).toBe('data: 1\n\ndata: 2\n\ndata: é\n\n');
  });

  it('writableLength counts what the reader has not taken', async () => {
    const sink = new WebStreamSink(1024 * 1024);
    sink.write(frameOf(100));
    sink.write(frameOf(50));
    expect(sink.writableLength).toBe(150);
    const reader = sink.readable.getReader();
    await reader.read();
    expect(sink.writableLength).toBe(50);
  });

  it('write() says false at 16 KiB unread (or half the bound, if smaller); onDrain fires when the reader pulls it below', async () => {
    const big = new WebStreamSink(1024 * 1024);
    expect(big.write(frameOf(16 * 1024 - 1))).toBe(true);
    expect(big.write(frameOf(1))).toBe(false);
    const small = new WebStreamSink(8 * 1024);
    expect(small.write(frameOf(4 * 1024 - 1))).toBe(true);
    expect(small.write(frameOf(1))).toBe(false);

    let drained = 0;
    big.onDrain(() => drained++);
    const reader = big.readable.getReader();
    await reader.read();
    await reader.read();
    // The pull after the queue emptied runs the listener, once.
    await withTimeout(
      (async () => {
        while (drained === 0) await new Promise((resolve) => setImmediate(resolve));
      })(),
      5000,
      'the drain listener',
    );
    big.write(frameOf(10));
    await reader.read();
    expect(drained).toBe(1);
  });

  it('a reader that cancels runs the close listener, then the finish listener, once', async () => {
    const sink = new WebStreamSink(1024);
    const calls: string[] = [];
    sink.onClose(() => calls.push('close'));
    sink.onFinish(() => calls.push('finish'));
    await sink.readable.cancel();
    sink.end();
    sink.destroy();
    expect(calls).toEqual(['close', 'finish']);
  });

  it('destroy() errors the body (a dropped client), and nothing is queued after', async () => {
    const sink = new WebStreamSink(1024);
    const calls: string[] = [];
    sink.onClose(() => calls.push('close'));
    sink.destroy();
    expect(() => sink.write(Frame.of('data: late\n\n'))).not.toThrow();
    expect(sink.writableLength).toBe(0);
    await expect(readAll(sink)).rejects.toThrow(/maxBufferedBytes/);
    expect(calls).toEqual(['close']);
  });

  it('after end(), writes are ignored and the body holds only what came before', async () => {
    const sink = new WebStreamSink(1024);
    sink.write(Frame.of('data: before\n\n'));
    sink.end();
    expect(() => sink.writeAll([Frame.of('data: after\n\n')])).not.toThrow();
    expect(await readAll(sink)).toBe('data: before\n\n');
  });
});
