/**
 * One server process and one load-client process, started fresh for one scenario of one
 * implementation, and always torn down afterwards.
 *
 * Fresh processes per scenario keep scenarios independent: no sockets, timers or heap
 * growth carried over, and every implementation starts each scenario equally cold.
 */
import type { ImplementationSpec } from '../implementations.ts';
import { reapNginx } from '../nginx.ts';
import { Child } from '../processes.ts';
import type {
  ChannelLayout,
  ClientMessage,
  ClientProtocol,
  ClientRequest,
  ConnectResult,
  ServerMessage,
  ServerRequest,
} from '../protocol.ts';
import type { Sizes } from '../sizes.ts';

const STARTUP_TIMEOUT_MS = 30_000;

/** CPUs for the two sides, when pinning is possible. */
export interface Placement {
  serverCpu?: number;
  clientCpu?: number;
}

export interface Session {
  server: Child<ServerRequest, ServerMessage>;
  client: Child<ClientRequest, ClientMessage>;
  port: number;
  sizes: Sizes;
  /** Clients split over several instances (the cross-instance scenario); default `[port]`. */
  ports?: number[];
  protocol?: ClientProtocol;
}

export class HardDeadlineExceeded extends Error {}

/**
 * Runs `body` against fresh processes. If it has not finished after `hardDeadlineMs`,
 * both processes are killed, which fails every pending request, so `body` cannot hang.
 */
export async function withSession<T>(
  impl: ImplementationSpec,
  placement: Placement,
  sizes: Sizes,
  hardDeadlineMs: number,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const server = Child.start<ServerRequest, ServerMessage>({
    script: impl.script,
    ...(impl.args ? { args: impl.args } : {}),
    ...(placement.serverCpu !== undefined ? { cpu: placement.serverCpu } : {}),
    label: `${impl.name} server`,
  });
  const client = Child.start<ClientRequest, ClientMessage>({
    script: 'bench/client.ts',
    ...(placement.clientCpu !== undefined ? { cpu: placement.clientCpu } : {}),
    label: `${impl.name} client`,
  });
  let deadlineHit = false;
  let nginxPrefix: string | undefined;
  const watchdog = setTimeout(() => {
    deadlineHit = true;
    server.kill();
    client.kill();
  }, hardDeadlineMs);
  try {
    const [ready] = await Promise.all([
      server.ready(STARTUP_TIMEOUT_MS),
      client.ready(STARTUP_TIMEOUT_MS),
    ]);
    if (ready.type !== 'ready') throw new Error(`server sent '${ready.type}' before 'ready'`);
    nginxPrefix = ready.nginxPrefix;
    return await body({ server, client, port: ready.port, sizes });
  } catch (err) {
    if (deadlineHit) throw new HardDeadlineExceeded(`hard deadline of ${hardDeadlineMs / 1000} s exceeded`);
    throw err;
  } finally {
    clearTimeout(watchdog);
    await Promise.all([server.stop(), client.stop()]);
    // The nchan server stops its nginx itself; this catches a server child that died first.
    if (nginxPrefix !== undefined) reapNginx(nginxPrefix);
  }
}

/** Opens `clients` connections; throws unless every one got a 200 response head. */
export async function connectClients(
  session: Session,
  layout: ChannelLayout,
  clients: number,
  latencyWarmupEvents?: number,
): Promise<ConnectResult> {
  const { sizes } = session;
  const result = await session.client.request<ConnectResult>(
    {
      type: 'connect',
      port: session.port,
      ...(session.ports !== undefined ? { ports: session.ports } : {}),
      ...(session.protocol !== undefined ? { protocol: session.protocol } : {}),
      layout,
      clients,
      ...(latencyWarmupEvents !== undefined
        ? { collectLatency: true, latencyWarmupEvents }
        : { collectLatency: false }),
      concurrency: sizes.connectConcurrency,
      timeoutMs: sizes.connectTimeoutMs,
    },
    sizes.connectTimeoutMs + 10_000,
  );
  if (result.failed > 0) {
    throw new Error(`${result.failed}/${clients} connections failed (first: ${result.firstError})`);
  }
  return result;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
