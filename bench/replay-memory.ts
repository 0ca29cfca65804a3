/**
 * Memory a large replay costs per client (issue 16, item 3): non-reading clients resume with
 * a junk Last-Event-ID against a channel whose history holds large events, so each is owed
 * the whole history. Prints the server process's heap, array-buffer and peak RSS growth per
 * client, and the most any one response had buffered.
 *
 *   node --expose-gc --import tsx bench/replay-memory.ts [clients=40] [events=1000] [eventBytes=20000] [bound=1048576]
 */
import http, { type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { EventStream } from '../src/index.js';

const [clients = 40, events = 1000, eventBytes = 20_000, bound = 1024 * 1024] = process.argv.slice(2).map(Number);
const exposedGc = (globalThis as { gc?: () => void }).gc;
if (exposedGc === undefined) throw new Error('run with node --expose-gc');
const gc: () => void = exposedGc;

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const es = new EventStream({
    maxBufferedBytes: bound,
    keepAliveInterval: 600_000,
    history: { maxEvents: events, maxAge: 3_600_000 },
  });
  const handler = es('feed');
  const responses: ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    responses.push(res);
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const payload = 'x'.repeat(eventBytes);
  for (let i = 0; i < events; i++) await es.publishEvent('feed', { event: 'm', data: payload });
  gc();
  await settle(50);
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 5);

  const sockets: net.Socket[] = [];
  for (let i = 0; i < clients; i++) {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.pause(); // never reads: the kernel's buffers fill, then the server's
    socket.on('error', () => {});
    socket.write(`GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: junk\r\n\r\n`);
    sockets.push(socket);
  }
  // Settled: every stream open and the bytes buffered for them unchanged for 300 ms.
  let last = -1;
  let maxBuffered = 0;
  for (let stable = 0; stable < 6; ) {
    await settle(50);
    const buffered = responses.reduce((sum, res) => sum + res.writableLength, 0);
    for (const res of responses) maxBuffered = Math.max(maxBuffered, res.writableLength);
    stable = buffered === last && es.stats().connections === clients ? stable + 1 : 0;
    last = buffered;
  }
  clearInterval(sampler);
  gc();
  await settle(50);
  gc();
  const after = process.memoryUsage();
  const per = (value: number): string => `${(value / clients / 1024).toFixed(1)} KiB`;
  console.log(
    JSON.stringify({
      clients,
      events,
      eventBytes,
      bound,
      connections: es.stats().connections,
      clientsDropped: es.stats().clientsDropped,
      perClient: {
        heapUsed: per(after.heapUsed - base.heapUsed),
        arrayBuffers: per(after.arrayBuffers - base.arrayBuffers),
        external: per(after.external - base.external),
        rssPeak: per(peakRss - base.rss),
        rssAfter: per(after.rss - base.rss),
      },
      maxWritableLength: `${(maxBuffered / 1024).toFixed(1)} KiB`,
    }),
  );
  for (const socket of sockets) socket.destroy();
  await es.close();
  server.closeAllConnections();
  server.close();
}

await main();
