import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { WAIT_MS, Waiter } from './waiter.js';

/**
 * Reads an event-stream `Response` (from `fetch`) as events arrive. `close()` aborts the
 * request through its controller: that is how these clients leave.
 */
export class SseResponse {
  readonly events: EventSourceMessage[] = [];
  ended = false;
  private readonly waiter = new Waiter();

  constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {
    void this.pump();
  }

  /** The first event matching `match`; rejects if the stream ends first. */
  next(match: (e: EventSourceMessage) => boolean, label: string): Promise<EventSourceMessage> {
    return this.waiter.until(() => {
      const found = this.events.find(match);
      if (found === undefined && this.ended) throw new Error(`stream ended before ${label}`);
      return found;
    }, label);
  }

  whenEnded(): Promise<true> {
    return this.waiter.until(() => this.ended, 'the stream to end');
  }

  close(): void {
    this.controller.abort();
  }

  private async pump(): Promise<void> {
    try {
      await readEvents(this.response.body!.getReader(), (event) => {
        this.events.push(event);
        this.waiter.notify();
      });
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
      this.waiter.notify();
    }
  }
}

/**
 * Reads an event-stream body to its end as it arrives: each event parsed is handed to
 * `onEvent`, each decoded chunk (before parsing) to `onText`. Rejects with the read's error.
 */
export async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onEvent: (event: EventSourceMessage) => void,
  onText?: (chunk: string) => void,
): Promise<void> {
  const parser = createParser({ onEvent });
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const chunk = decoder.decode(value, { stream: true });
    onText?.(chunk);
    parser.feed(chunk);
  }
}

/** A fetch() of an event stream, read as events arrive; `close()` on it leaves. */
export async function fetchStream(url: string, headers: Record<string, string> = {}): Promise<SseResponse> {
  const controller = new AbortController();
  // Bounded wait for the response head; the body stays open until close().
  const timer = setTimeout(() => controller.abort(new Error(`no response head from ${url}`)), WAIT_MS);
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal }).finally(() =>
    clearTimeout(timer),
  );
  return new SseResponse(response, controller);
}
