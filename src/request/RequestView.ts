import type { FrameworkRequest, StreamRequest } from '../types.js';

/**
 * The little the request side reads from a request, so that `node:http` requests and
 * WHATWG `Request`s travel the same path. `subject` is what channel functions and hooks
 * receive: the framework's own request object (Koa's context, Fastify's request…).
 */
export interface RequestView {
  readonly subject: FrameworkRequest;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly params: Record<string, unknown> | undefined;
  readonly query: Record<string, unknown> | string | undefined;
  header(name: string): string | undefined;
}

export function viewOfNodeRequest(req: StreamRequest, subject: FrameworkRequest = req): RequestView {
  return new NodeRequestView(req, subject);
}

/** A class, not an object literal: its `header` is one function on the prototype, not a closure per request. */
class NodeRequestView implements RequestView {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly params: Record<string, unknown> | undefined;
  readonly query: Record<string, unknown> | string | undefined;

  constructor(
    private readonly req: StreamRequest,
    readonly subject: FrameworkRequest,
  ) {
    this.method = req.method;
    this.url = req.url;
    this.params = req.params;
    this.query = req.query;
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }
}

export function viewOfFetchRequest(
  request: Request,
  params?: Record<string, unknown>,
  subject: FrameworkRequest = request,
): RequestView {
  return {
    subject,
    method: request.method,
    url: request.url,
    params,
    query: undefined,
    header: (name) => request.headers.get(name) ?? undefined,
  };
}
