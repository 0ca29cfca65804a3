import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * Starts `server` on host:port for an example's start script. A port that cannot be had (in
 * use, no permission) ends the process with a one-line reason and exit code 1, instead of an
 * unhandled 'error' or a TypeError from a server that never listened.
 */
export async function listenOrExit(server: Server, port: number, host: string): Promise<number> {
  const failed = once(server, 'error').then(([err]) => {
    const { code, message } = err as NodeJS.ErrnoException;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (set PORT to another one, or PORT=0 for a free one)`
        : code === 'EACCES'
          ? `no permission to listen on port ${port} on ${host}`
          : message;
    console.error(`cannot start: ${reason}`);
    process.exit(1);
  });
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), failed]);
  return (server.address() as AddressInfo).port;
}
