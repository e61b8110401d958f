#!/usr/bin/env node
/**
 * The lab host process: `node packages/lab/dist/host/main.js --lab-dir DIR`.
 * Started detached by `lab up`; embeds the network backend, starts and stops
 * lab containers, and serves the lab API on `<lab>/host.sock`.
 */
import { rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseOffloadPreference, RELAY_ENGINES, type RelayEngine } from '@arca-net/host';
import { createLogger } from '@arca-net/log';
import { serveLabApi } from '../api/server.js';
import { LabContainers } from '../containers.js';
import { serveDockerApi } from '../docker-api/index.js';
import { LabPaths, labConfigFromEnv } from '../paths.js';
import { openLabBackend } from './backend.js';
import { ForwarderSupervisor } from './forwarder-supervisor.js';
import { labLogMaxBytes, watchLogSizes } from './log-cap.js';
import { LabHostService } from './service.js';

async function main(): Promise<void> {
  // Files this process makes (state database, container records, logs) are root's only.
  process.umask(0o077);
  const { values } = parseArgs({
    options: {
      'lab-dir': { type: 'string' },
      prefix: { type: 'string' },
      'host-relay': { type: 'string', default: 'native' },
      dns: { type: 'string', multiple: true },
      // one host of a cluster (`lab up --hosts N`): overlay networks of the others show up here
      cluster: { type: 'boolean', default: false },
      offload: { type: 'string', default: 'off' },
    },
    strict: true,
  });
  const hostRelay = values['host-relay'] as RelayEngine;
  if (!RELAY_ENGINES.includes(hostRelay)) {
    throw new Error(`--host-relay must be one of ${RELAY_ENGINES.join(', ')}`);
  }
  const config = labConfigFromEnv();
  const paths = new LabPaths({
    dir: values['lab-dir'] ?? config.dir,
    prefix: values.prefix ?? config.prefix,
  });
  const logger = createLogger({ base: { service: 'lab-host' } });
  const containers = new LabContainers(paths, logger.child({ component: 'containers' }));
  await containers.load();
  const backend = await openLabBackend(paths, logger.child({ component: 'backend' }), {
    hostRelay,
    dnsUpstreams: values.dns ?? [],
    cluster: values.cluster === true,
    offload: parseOffloadPreference(values.offload, 'off'),
  });

  /** Docker's Engine API (docker-api/), served once the lab API is. */
  let docker: Server | undefined;
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'lab host stopping');
    supervisor.stop();
    stopLogCap();
    server.close();
    server.closeAllConnections();
    docker?.close();
    docker?.closeAllConnections();
    void backend
      .close()
      .catch((error: unknown) => logger.error({ err: error }, 'backend close failed'))
      .then(() => rm(paths.hostSocket, { force: true }))
      .then(() => rm(paths.dockerSocket, { force: true }))
      .finally(() => process.exit(0));
  };
  const service = new LabHostService({
    containers,
    network: backend.network,
    helperHealth: () => backend.helperHealth(),
    logger: logger.child({ component: 'service' }),
    onShutdown: () => stop('shutdown request'),
    forwarderHealth: () => backend.network.forwarderHealth(),
    forwarderRestarted: (id) => backend.network.forwarderRestarted(id),
  });
  const stopLogCap = watchLogSizes(
    [paths.logsDir, join(paths.helperRun, 'log')],
    labLogMaxBytes(),
    logger.child({ component: 'logs' }),
  );
  const supervisor = new ForwarderSupervisor({
    containers,
    revive: (name) => service.reviveForwarder(name),
    logger: logger.child({ component: 'forwarder-supervisor' }),
  });
  const server = await serveLabApi(service, paths.hostSocket, {
    logger: logger.child({ component: 'api' }),
  });
  docker = await serveDockerApi(service, paths.dockerSocket, {
    logger: logger.child({ component: 'docker-api' }),
    labDir: paths.dir,
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  logger.info(
    { socket: paths.hostSocket, containers: containers.list().length, hostRelay },
    'lab host serving',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`lab host: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
