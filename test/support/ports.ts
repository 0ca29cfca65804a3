/**
 * Loopback ports for the harnesses (Pushpin, Redis, Prometheus, Next.js): ask the OS for a free
 * one, check that something listens, and tell whose listener it is.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

const LOOPBACK = '127.0.0.1';

/**
 * Two distinct free ports, e.g. Pushpin's http and publish ports chosen before it starts.
 * Two plain freePort() calls can return the same port: each one's listener is already closed.
 */
export async function freePortPair(): Promise<[number, number]> {
  const first = await freePort();
  for (let i = 0; i < 5; i++) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
  throw new Error('freePortPair: could not get two distinct free ports');
}

/** Ask the OS for an ephemeral loopback port (free at the time of the call). */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    const timer = setTimeout(() => {
      srv.close();
      reject(new Error('freePort: timed out'));
    }, 2000);
    srv.unref();
    srv.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    srv.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => {
        clearTimeout(timer);
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('freePort: no address'));
      });
    });
  });
}


/** True when a TCP connection to 127.0.0.1:`port` opens within `timeoutMs`. Never rejects. */
export function tcpConnects(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

/**
 * Who listens on TCP `port` (Linux procfs): 'ours' if one of the LISTEN sockets is an open fd
 * of `pid`, 'foreign' if someone else listens, 'none' if nobody, 'unknown' without procfs.
 */
export function listenerOwner(port: number, pid: number | undefined): 'ours' | 'foreign' | 'none' | 'unknown' {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  let sawTable = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    sawTable = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const local = f[1];
      const inode = f[9];
      if (f[3] === '0A' && local !== undefined && inode !== undefined && local.endsWith(`:${portHex}`)) {
        inodes.add(inode);
      }
    }
  }
  if (!sawTable) return 'unknown';
  if (inodes.size === 0) return 'none';
  if (pid === undefined) return 'foreign';
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 'foreign';
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined && inodes.has(m[1])) return 'ours';
    } catch {
      /* fd closed meanwhile */
    }
  }
  return 'foreign';
}

