/**
 * Compile-time: `gripstream/edge`'s hooks take the request typed as the route gives it (a
 * `Request`, or Hono's context), like the Node entry's. Checked by `tsc -p tsconfig.json`.
 */
import type { Context } from 'hono';
import { EdgeEventStream } from '../../src/edge.js';

new EdgeEventStream({ grip: 'http://127.0.0.1:5561/', authorize: (request: Request) => request.headers.has('cookie') });
new EdgeEventStream({ grip: 'http://127.0.0.1:5561/', authorize: (c: Context) => c.req.raw.headers.has('cookie') || { status: 401, reason: 'log in' } });
new EdgeEventStream({ grip: 'http://127.0.0.1:5561/', onRefused: ({ status, reason }) => void [status, reason] });
// @ts-expect-error edge streams need a GRIP proxy
new EdgeEventStream({});
// @ts-expect-error nothing survives an edge invocation: no history there
new EdgeEventStream({ grip: 'http://127.0.0.1:5561/', history: { maxEvents: 10 } });
