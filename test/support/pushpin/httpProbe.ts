import * as http from 'node:http';

const LOOPBACK = '127.0.0.1';

/** GET http://127.0.0.1:port/path; resolves status + (up to bodyWaitMs of) body, never rejects. */
export function httpProbe(
  port: number,
  urlPath: string,
  timeoutMs: number,
  opts: {
    readBody: (status: number) => boolean;
    bodyWaitMs: number;
    headers?: http.OutgoingHttpHeaders;
    /** Finish as soon as the body so far satisfies this. */
    enough?: (body: string) => boolean;
  },
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { status: number; body: string } | { error: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const req = http.get(
      { host: LOOPBACK, port, path: urlPath, agent: false, headers: opts.headers },
      (res) => {
        const status = res.statusCode ?? 0;
        if (!opts.readBody(status)) {
          finish({ status, body: '' });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
          if (opts.enough?.(body)) finish({ status, body });
        });
        res.on('end', () => finish({ status, body }));
        res.on('error', () => finish({ status, body }));
        // A held stream never ends: take what arrived so far.
        setTimeout(() => finish({ status, body }), opts.bodyWaitMs).unref();
      },
    );
    req.on('error', (err) => finish({ error: err.message }));
    const timer = setTimeout(() => finish({ error: `timeout after ${timeoutMs} ms` }), timeoutMs);
  });
}
