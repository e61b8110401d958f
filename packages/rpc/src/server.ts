/**
 * Starts a VM process's gRPC server: its services behind the logging and
 * error-mapping middlewares, health and reflection beside them, grpc-js on a
 * Unix socket and, for a vsock address, a vsock listener proxied to it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@arca-net/log';
import { health } from '@arca-net/proto';
import { listenStream, proxyListenerTo } from '@arca-net/vsock';
import {
  createServer,
  type Server,
  type ServiceImplementation,
  type TsProtoServiceDefinition,
} from 'nice-grpc';
import { boundsMiddleware, MAX_REQUEST_BYTES } from './bounds.js';
import { routeGrpcJsLogging } from './grpc-js-log.js';
import { HealthStatuses, healthService } from './health.js';
import type { ListenAddress } from './listen.js';
import { type ErrorStatus, errorMappingMiddleware, loggingMiddleware } from './middleware.js';
import { addReflection } from './reflection.js';

/**
 * Largest response a VM service sends, bytes: ListBridges of a helper with
 * thousands of attachments fits; the host's clients accept as much.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** One service to serve; build it with {@link rpcService}. */
export interface RpcService {
  /** The service's full name (`arca.network.NetworkControl`), as health and reflection know it. */
  readonly fullName: string;
  /** Adds the service to a nice-grpc server. */
  add(server: Server): void;
}

/** A service to serve: its ts-proto definition and the implementation of that definition. */
export function rpcService<Definition extends TsProtoServiceDefinition>(
  definition: Definition,
  implementation: ServiceImplementation<Definition>,
): RpcService {
  return {
    fullName: definition.fullName,
    add: (server) => server.add(definition, implementation),
  };
}

/** Options of {@link startRpcServer}. */
export interface RpcServerOptions {
  listen: ListenAddress;
  /** The process (`forwarder`, `controller`): names the private socket directory for vsock. */
  name: string;
  services: readonly RpcService[];
  /** The caller's error table: the status of each of its errors (anything else is INTERNAL). */
  errorStatus: ErrorStatus;
  /** Calls log to its `{component: 'grpc'}` child, grpc-js to `{component: 'grpc-js'}`. */
  logger: Logger;
  /** How long {@link RpcServer.close} lets calls in flight finish (ms, default 5000). */
  shutdownGraceMs?: number;
}

/** A running gRPC server. */
export interface RpcServer {
  /** What grpc-js listens on (`unix:/path`); nice-grpc clients dial `unix:///path`. */
  readonly address: string;
  /** The Unix socket of that address: `DIR/PORT.sock` for unixdir, a private one for vsock. */
  readonly socketPath: string;
  /** grpc.health.v1 statuses: `""` and each service SERVING once started, NOT_SERVING on close. */
  readonly health: HealthStatuses;
  /**
   * Says NOT_SERVING (ending Watch streams), stops taking connections, lets
   * calls in flight finish (cancelling them after the grace period) and removes
   * the socket. Idempotent.
   */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens and health says SERVING. */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const logger = options.logger.child({ component: 'grpc' });
  routeGrpcJsLogging(options.logger);
  const names = options.services.map((service) => service.fullName);
  const statuses = new HealthStatuses(names);
  const server = createServer({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': MAX_RESPONSE_BYTES,
  })
    .use(loggingMiddleware(logger))
    .use(errorMappingMiddleware(options.errorStatus))
    .use(boundsMiddleware());
  for (const service of options.services) service.add(server);
  server.add(health.HealthDefinition, healthService(statuses));
  addReflection(server, [...names, health.HealthDefinition.fullName]);

  const { listen } = options;
  const socket = unixSocketFor(listen, options.name);
  let vsockProxy: { close(): void } | undefined;
  try {
    await server.listen(`unix:${socket.path}`);
    if (listen.endpoint.kind === 'vsock') vsockProxy = await proxyVsock(listen, socket.path);
  } catch (error) {
    server.forceShutdown();
    socket.remove();
    throw error;
  }
  statuses.setAll(health.HealthCheckResponse_ServingStatus.SERVING);
  const address = `unix:${socket.path}`;
  logger.info(
    { grpc: address, listen: listen.endpoint, port: listen.port, services: names },
    'gRPC serving',
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    socketPath: socket.path,
    health: statuses,
    close: () => {
      closing ??= (async () => {
        statuses.shutdown();
        vsockProxy?.close();
        try {
          await shutdown(server, options.shutdownGraceMs ?? 5000, logger);
        } finally {
          socket.remove();
        }
      })();
      return closing;
    },
  };
}

/**
 * The Unix socket grpc-js listens on: `DIR/PORT.sock` for unixdir (the
 * directory made if missing), else one in a private directory. Any stale
 * socket is removed first; `remove()` removes it (and the private directory).
 */
function unixSocketFor(listen: ListenAddress, name: string): { path: string; remove(): void } {
  let path: string;
  let privateDir: string | undefined;
  if (listen.endpoint.kind === 'unixdir') {
    mkdirSync(listen.endpoint.dir, { recursive: true });
    path = join(listen.endpoint.dir, `${listen.port}.sock`);
  } else {
    privateDir = mkdtempSync(join(tmpdir(), `arca-net-${name}-`));
    path = join(privateDir, 'grpc.sock');
  }
  rmSync(path, { force: true });
  return {
    path,
    remove: () => {
      rmSync(path, { force: true });
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    },
  };
}

/** Listens on the vsock port of `listen` and pipes every connection to `socketPath`. */
async function proxyVsock(listen: ListenAddress, socketPath: string): Promise<{ close(): void }> {
  const listener = await listenStream(listen.endpoint, listen.port);
  try {
    const proxy = proxyListenerTo(listener, socketPath);
    return {
      close: () => {
        proxy.close();
        listener.close();
      },
    };
  } catch (error) {
    listener.close();
    throw error;
  }
}

/** Shuts `server` down gracefully, cancelling the calls still running after `graceMs`. */
async function shutdown(server: Server, graceMs: number, logger: Logger): Promise<void> {
  const graceful = server.shutdown();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  try {
    if ((await Promise.race([graceful, expired])) === 'expired') {
      logger.warn({ graceMs }, 'calls still running after the grace period: cancelling them');
      server.forceShutdown();
      await graceful;
    }
  } finally {
    clearTimeout(timer);
  }
}
