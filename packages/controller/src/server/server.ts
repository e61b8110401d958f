/**
 * Starts the controller: OVN driver, domain (restored from the NB database,
 * helper relays reopened), then, through @arca-net/rpc, the gRPC server
 * (NetworkControl beside health and reflection) on its listen address.
 */

import { type Logger, silentLogger } from '@arca-net/log';
import { HELPER_CONTROL_PORT, network } from '@arca-net/proto';
import { type ListenAddress, parseListenAddress, rpcService, startRpcServer } from '@arca-net/rpc';
import { NetworkResolvers } from '../dns/resolvers.js';
import { ControllerError, ERROR_CODES } from '../domain/errors.js';
import { Networks } from '../domain/networks.js';
import { parseExternalNetwork } from '../domain/validate.js';
import { CliOvnDriver, type OvnDriver } from '../ovn/driver.js';
import { createToolRunner, type ToolRunner } from '../ovn/exec.js';
import { VswitchdRestarts } from '../ovs/vswitchd-restarts.js';
import type { DataPath } from '../relay/datapath.js';
import { VsockDataPath } from '../relay/helper-relay.js';
import { PortForwarder } from '../relay/port-forward.js';
import { createNetworkControlService } from './service.js';

/** Parses `vsock`, `vsock:PORT` or `unixdir:/DIR` (gRPC then on `DIR/9999.sock`). */
export function parseControllerListen(text: string): ListenAddress {
  return parseListenAddress(text, HELPER_CONTROL_PORT);
}

/** The gRPC status of a controller error, from its table; other errors are not ours. */
function controllerErrorStatus(error: unknown) {
  return error instanceof ControllerError ? ERROR_CODES[error.code] : undefined;
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
  /** gRPC on this address, helper relays on the same endpoint. */
  listen: ListenAddress | string;
  ovn: OvnLocation;
  logger?: Logger;
  /**
   * The outside world behind the helper's uplink (startup.sh's ARCA_EXTERNAL_CIDR
   * and ARCA_EXTERNAL_GATEWAY; br-ex must carry OVN's network "external").
   * Absent: networks reach nothing outside themselves.
   */
  uplink?: { cidr: string; gateway: string; range?: string };
  /** Default: helper relays on `vsock` (tests may inject another data path). */
  dataPath?: DataPath;
  /** Default: the CLI driver on a real tool runner. */
  driver?: OvnDriver;
  /**
   * Runs a resolver per network in this helper (the DHCP lease's DNS server).
   * Default: on with the real CLI driver and tools, off with a given runner or driver.
   */
  resolvers?: boolean;
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
  const { driver, ownDriver } = ovnDriver(options, runner, timeoutMs, logger);
  const dataPath = options.dataPath ?? new VsockDataPath({ listen: listen.endpoint, logger });
  const uplink = options.uplink
    ? parseExternalNetwork(options.uplink.cidr, options.uplink.gateway, options.uplink.range)
    : undefined;
  // The per-network resolvers need the real tools and the helper's kernel: not with a test's runner or driver.
  const wantResolvers =
    options.resolvers ?? (options.runner === undefined && options.driver === undefined);
  const resolvers =
    wantResolvers && driver instanceof CliOvnDriver && process.env.ARCA_HELPER_RESOLVERS !== '0'
      ? new NetworkResolvers(driver.nbctl, driver.vsctl, logger.child({ component: 'resolvers' }))
      : undefined;
  const networks = new Networks({
    driver,
    dataPath,
    logger,
    ...(uplink ? { uplink } : {}),
    ...(resolvers ? { resolvers } : {}),
    cluster: (process.env.ARCA_HELPER_ROLE ?? '') !== '',
  });
  await networks.restore();

  const rpc = await startRpcServer({
    listen,
    name: 'controller',
    services: [rpcService(network.NetworkControlDefinition, createNetworkControlService(networks))],
    errorStatus: controllerErrorStatus,
    logger,
  }).catch(async (err: unknown) => {
    await networks.close();
    throw err;
  });
  logger.info({ grpcAddress: rpc.address }, 'controller listening');
  const portForwarder = await PortForwarder.start(
    listen.endpoint,
    (networkId, protocol, hostPort) =>
      networks
        .list()
        .find((v) => v.record.networkId === networkId)
        ?.published.get(`${protocol}/${hostPort}`)?.vip,
    logger,
  ).catch(async (err: unknown) => {
    await rpc.close();
    await networks.close();
    throw err;
  });

  // A restarted ovs-vswitchd's port sockets are raised again (ovs/vswitchd-restarts.ts).
  const runDir = options.ovn.runDir;
  const vswitchdRestarts =
    runDir && ownDriver
      ? await VswitchdRestarts.start({
          runDir,
          log: logger.child({ component: 'port-buffers' }),
          systemPorts: () => ownDriver.systemPortCount(),
        })
      : undefined;
  let closing: Promise<void> | undefined;
  return {
    grpcAddress: rpc.address,
    grpcSocketPath: rpc.socketPath,
    networks,
    driver,
    close() {
      closing ??= (async () => {
        portForwarder.close();
        vswitchdRestarts?.close();
        await rpc.close();
        await networks.close();
        logger.info('controller stopped');
      })();
      return closing;
    },
  };
}

/**
 * `options.driver`, or else a CLI driver the controller makes itself, then
 * also returned as `ownDriver` (only its OVS is watched for restarts).
 */
function ovnDriver(
  options: ControllerOptions,
  runner: ToolRunner,
  timeoutMs: number,
  logger: Logger,
): { driver: OvnDriver; ownDriver?: CliOvnDriver } {
  if (options.driver) return { driver: options.driver };
  const ownDriver = new CliOvnDriver(runner, {
    nbDb: ovsdbRemote(options.ovn.nbSock),
    sbDb: ovsdbRemote(options.ovn.sbSock),
    // A cluster chassis (startup.sh's ARCA_HELPER_ROLE) reaches the central's databases over TCP.
    checkNorthd: process.env.ARCA_HELPER_ROLE !== 'chassis',
    ovsDb: `unix:${options.ovn.ovsSock}`,
    runDir: options.ovn.runDir,
    timeoutMs,
    logger,
  });
  return { driver: ownDriver, ownDriver };
}

/** A socket path as an OVSDB remote; `tcp:`/`ssl:` remotes (a cluster's central) stay as they are. */
function ovsdbRemote(path: string): string {
  return /^(tcp|ssl):/.test(path) ? path : `unix:${path}`;
}
