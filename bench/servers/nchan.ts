/**
 * nchan (nginx + libnginx-mod-nchan), the native anchor. Unlike the other servers, the
 * streams are not served by this Node process: it starts a private nginx (bench/nginx.ts),
 * announces nginx's port, and drives it over the same IPC protocol, publishing each
 * event with one HTTP POST to nchan's publisher location (one keep-alive connection).
 *
 * Figures are nginx's: memory is the worker's RSS (`heapUsed` is not applicable: NaN),
 * CPU is master + worker from /proc, connections are nchan's own subscriber count. The
 * publishing POSTs are made from this process, which shares the server CPU with nginx.
 */
import http from 'node:http';
import { NchanServer } from '../nginx.ts';
import { pathForChannel } from '../protocol.ts';
import { serveTarget, type BenchEvent } from './harness.ts';

/** Streams nginx is configured for (the scale scenario passes its N; nginx preallocates them). */
const MAX_CONNECTIONS = Number(process.env['BENCH_NCHAN_MAX_CONNECTIONS'] ?? 20_000);
/** nginx worker processes (the scale scenario with workers passes as many as gripstream gets). */
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 1);

let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function publish(port: number, channel: string, event: BenchEvent): Promise<void> {
  const body = JSON.stringify(event.data);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: pathForChannel(channel).replace(/^\/events\//, '/pub/'),
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode === 201 || res.statusCode === 202
            ? resolve()
            : reject(new Error(`nchan publish: status ${res.statusCode}`)),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const nchan = await NchanServer.start(MAX_CONNECTIONS, WORKERS);
  process.once('SIGTERM', () => void nchan.close().finally(() => process.exit(0)));
  serveTarget(
    {
      publish: (channel, event) => publish(nchan.port, channel, event),
      cpuMicros: () => nchan.cpuMicros(),
      // Several workers: PSS of all nginx processes, so the shared memory zone counts once.
      memory: () => ({ rss: WORKERS === 1 ? nchan.workerRss() : nchan.totalPss(), heapUsed: NaN, external: NaN, arrayBuffers: NaN }),
      connections: async () => (await nchan.status())['subscribers'] ?? NaN,
      dropAll: async () => {
        // The publishing connection dies with nginx; the next publish opens a new one.
        agent.destroy();
        agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        await nchan.restart();
      },
      close: () => nchan.close(),
    },
    { type: 'ready', port: nchan.port, nginxPrefix: nchan.prefix },
  );
}

main().catch((err: unknown) => {
  console.error('[nchan server]', err);
  process.exit(1);
});
