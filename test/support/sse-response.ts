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
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        this.waiter.notify();
      },
    });
    const decoder = new TextDecoder();
    try {
      const reader = this.response.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
      this.waiter.notify();
    }
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
