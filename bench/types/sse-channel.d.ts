// sse-channel ships no types; this covers the part the benchmark uses.
declare module 'sse-channel' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface SseChannelOptions {
    historySize?: number;
    retryTimeout?: number;
    pingInterval?: number;
    jsonEncode?: boolean;
  }

  interface SseMessage {
    event?: string;
    data?: unknown;
    id?: string | number;
  }

  class SseChannel {
    constructor(options?: SseChannelOptions);
    addClient(req: IncomingMessage, res: ServerResponse, callback?: () => void): void;
    send(message: SseMessage | string, clients?: ServerResponse[]): void;
    getConnectionCount(): number;
    close(): void;
  }

  export default SseChannel;
}
