/**
 * Starts the controller: OVN driver, domain (restored from the NB database,
 * helper relays reopened), then the gRPC server (NetworkControl, health,
 * reflection) on its listen address.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@arca-net/log';
import { descriptorSetPath, HELPER_CONTROL_PORT, network } from '@arca-net/proto';
import { type ListenEndpoint, listenStream, proxyListenerTo } from '@arca-net/vsock';
import { createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import { invalid } from '../domain/errors.js';
import { Networks } from '../domain/networks.js';
import { parseExternalNetwork } from '../domain/validate.js';
import { CliOvnDriver, type OvnDriver } from '../ovn/driver.js';
import { createToolRunner, type ToolRunner } from '../ovn/exec.js';
import type { DataPath } from '../relay/datapath.js';
import { VsockDataPath } from '../relay/helper-relay.js';
import { errorMappingMiddleware, loggingMiddleware } from './middleware.js';
import { createNetworkControlService } from './service.js';

/** Where the controller listens: gRPC on `port`, helper relays on the same endpoint. */
export interface ControllerListen {
  endpoint: ListenEndpoint;
  port: number;
}

/** Parses `vsock`, `vsock:PORT` or `unixdir:DIR` (gRPC then on `DIR/9999.sock`). */
export function parseControllerListen(text: string): ControllerListen {
  if (text === 'vsock') return { endpoint: { kind: 'vsock' }, port: HELPER_CONTROL_PORT };
  const vsock = /^vsock:(\d{1,10})$/.exec(text);
  if (vsock) return { endpoint: { kind: 'vsock' }, port: Number(vsock[1]) };
  if (text.startsWith('unixdir:/')) {
    return {
      endpoint: { kind: 'unixdir', dir: text.slice('unixdir:'.length) },
      port: HELPER_CONTROL_PORT,
    };
  }
  throw invalid(`listen address ${JSON.stringify(text)}: expected vsock[:PORT] or unixdir:/DIR`);
}

/** Where OVS and OVN are: database sockets (paths) and the daemons' run directory. */
export interface OvnLocation {
  nbSock: string;
  sbSock: string;
  ovsSock: string;
  /** pidfiles and control sockets (health checks; OVS_RUNDIR for the tools). */
  runDir?: string;
}

/** Options of {@link startController}. */
export interface ControllerOptions {
  listen: ControllerListen | string;
  ovn: OvnLocation;
  logger?: Logger;
  /**
   * The outside world behind the helper's uplink (startup.sh's ARCA_EXTERNAL_CIDR
   * and ARCA_EXTERNAL_GATEWAY; br-ex must carry OVN's network "external").
   * Absent: networks reach nothing outside themselves.
   */
  uplink?: { cidr: string; gateway: string };
  /** Default: helper relays on `vsock` (tests may inject another data path). */
  dataPath?: DataPath;
  /** Default: the CLI driver on a real tool runner. */
  driver?: OvnDriver;
  runner?: ToolRunner;
  /** Tool timeout (ms), default 30 s. */
  timeoutMs?: number;
}

/** A running controller. */
export interface Controller {
  /** What grpc-js listens on (`unix:/path`); clients dial `unix:///path` or the vsock port. */
  readonly grpcAddress: string;
  /** The Unix socket grpc-js listens on. */
  readonly grpcSocketPath: string;
  readonly networks: Networks;
  readonly driver: OvnDriver;
  /** Stops gRPC and every helper relay; OVN rows stay (the next start restores them). Idempotent. */
  close(): Promise<void>;
}

/** Starts the controller; resolves once gRPC is listening and state is restored. */
export async function startController(options: ControllerOptions): Promise<Controller> {
  const logger = (options.logger ?? silentLogger).child({ service: 'controller' });
  const listen =
    typeof options.listen === 'string' ? parseControllerListen(options.listen) : options.listen;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const runner =
    options.runner ??
    createToolRunner({
      timeoutMs,
      logger,
      env: options.ovn.runDir
        ? { OVS_RUNDIR: options.ovn.runDir, OVN_RUNDIR: options.ovn.runDir }
        : {},
    });
  const driver =
    options.driver ??
    new CliOvnDriver(runner, {
      nbDb: `unix:${options.ovn.nbSock}`,
      sbDb: `unix:${options.ovn.sbSock}`,
      ovsDb: `unix:${options.ovn.ovsSock}`,
      runDir: options.ovn.runDir,
      timeoutMs,
      logger,
    });
  const dataPath = options.dataPath ?? new VsockDataPath({ listen: listen.endpoint, logger });
  const uplink = options.uplink
    ? parseExternalNetwork(options.uplink.cidr, options.uplink.gateway)
    : undefined;
  const networks = new Networks({ driver, dataPath, logger, ...(uplink ? { uplink } : {}) });
  await networks.restore();

  const health = HealthState();
  const server = createServer()
    .use(loggingMiddleware(logger.child({ component: 'grpc' })))
    .use(errorMappingMiddleware);
  server.add(network.NetworkControlDefinition, createNetworkControlService(networks));
  server.add(HealthDefinition, HealthServiceImpl(health));
  server.add(
    ServerReflectionService,
    ServerReflection(readFileSync(descriptorSetPath), [
      network.NetworkControlDefinition.fullName,
      'grpc.health.v1.Health',
    ]),
  );

  let socketPath: string;
  let tempDir: string | undefined;
  if (listen.endpoint.kind === 'unixdir') {
    mkdirSync(listen.endpoint.dir, { recursive: true });
    socketPath = join(listen.endpoint.dir, `${listen.port}.sock`);
  } else {
    tempDir = mkdtempSync(join(tmpdir(), 'arca-net-controller-'));
    socketPath = join(tempDir, 'grpc.sock');
  }
  rmSync(socketPath, { force: true });
  const grpcAddress = `unix:${socketPath}`;
  try {
    await server.listen(grpcAddress);
  } catch (err) {
    await networks.close();
    throw err;
  }
  let proxy: { close(): void } | undefined;
  if (listen.endpoint.kind === 'vsock') {
    const listener = await listenStream(listen.endpoint, listen.port);
    const piping = proxyListenerTo(listener, socketPath);
    proxy = {
      close: () => {
        piping.close();
        listener.close();
      },
    };
  }
  health.setStatus('healthy');
  health.setStatus('healthy', network.NetworkControlDefinition.fullName);
  logger.info({ grpcAddress, listen: listen.endpoint, port: listen.port }, 'controller listening');

  let closing: Promise<void> | undefined;
  return {
    grpcAddress,
    grpcSocketPath: socketPath,
    networks,
    driver,
    close() {
      closing ??= (async () => {
        health.setStatus('unhealthy');
        proxy?.close();
        await server.shutdown();
        await networks.close();
        rmSync(socketPath, { force: true });
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        logger.info('controller stopped');
      })();
      return closing;
    },
  };
}
