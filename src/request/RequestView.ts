import type { StreamRequest } from '../types.js';

/**
 * The little the request side reads from a request, so that `node:http` requests and
 * WHATWG `Request`s travel the same path. `raw` is what channel builders and hooks receive.
 */
export interface RequestView {
  readonly raw: StreamRequest | Request;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly params: Record<string, unknown> | undefined;
  readonly query: Record<string, unknown> | string | undefined;
  header(name: string): string | undefined;
}

export function viewOfNodeRequest(req: StreamRequest): RequestView {
  return {
    raw: req,
    method: req.method,
    url: req.url,
    params: req.params,
    query: req.query,
    header(name) {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

export function viewOfFetchRequest(request: Request, params?: Record<string, unknown>): RequestView {
  return {
    raw: request,
    method: request.method,
    url: request.url,
    params,
    query: undefined,
    header: (name) => request.headers.get(name) ?? undefined,
  };
}
