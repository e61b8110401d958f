#!/usr/bin/env node
/**
 * The controller process: `node dist/main.js --listen unixdir:/dir|vsock[:9999]`.
 * With `--health-check`: asks that controller's grpc.health.v1 instead (exit 0: SERVING).
 * OVS/OVN locations come from the environment that helpervm/startup.sh exports:
 * ARCA_OVN_NB_DB, ARCA_OVN_SB_DB, ARCA_OVS_DB (`unix:/path`), ARCA_OVS_RUNDIR.
 * The uplink, when the helper has one: `--external-cidr` / `--external-gateway`,
 * else ARCA_EXTERNAL_CIDR / ARCA_EXTERNAL_GATEWAY (both or neither); optionally
 * `--external-range` / ARCA_EXTERNAL_RANGE, the part of it this helper hands out.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '@arca-net/log';
import { checkControllerHealth } from './health-check.js';
import { startController } from './server/server.js';

function socketPath(envName: string, fallback: string): string {
  const value = process.env[envName] ?? fallback;
  return value.startsWith('unix:') ? value.slice('unix:'.length) : value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: process.env.ARCA_CONTROLLER_LISTEN ?? 'vsock:9999' },
      'external-cidr': { type: 'string', default: process.env.ARCA_EXTERNAL_CIDR ?? '' },
      'external-gateway': { type: 'string', default: process.env.ARCA_EXTERNAL_GATEWAY ?? '' },
      'external-range': { type: 'string', default: process.env.ARCA_EXTERNAL_RANGE ?? '' },
      'health-check': { type: 'boolean', default: false },
    },
  });
  if (values['health-check']) {
    // The image's HEALTHCHECK: exit 0 when the controller on --listen says SERVING.
    const status = await checkControllerHealth(values.listen ?? 'vsock:9999');
    process.stdout.write(`controller ${status}\n`);
    process.exit(status === 'SERVING' ? 0 : 1);
  }
  const cidr = values['external-cidr'] ?? '';
  const gateway = values['external-gateway'] ?? '';
  if ((cidr === '') !== (gateway === '')) {
    throw new Error('the uplink needs both --external-cidr and --external-gateway (or neither)');
  }
  const runDir = process.env.ARCA_OVS_RUNDIR ?? '/run/arca-net-helper';
  const logger = createLogger({ base: { service: 'controller' } });
  const controller = await startController({
    listen: values.listen ?? 'vsock:9999',
    ovn: {
      nbSock: socketPath('ARCA_OVN_NB_DB', `${runDir}/ovnnb_db.sock`),
      sbSock: socketPath('ARCA_OVN_SB_DB', `${runDir}/ovnsb_db.sock`),
      ovsSock: socketPath('ARCA_OVS_DB', `${runDir}/ovs.sock`),
      runDir,
    },
    ...(cidr !== ''
      ? {
          uplink: {
            cidr,
            gateway,
            ...(values['external-range'] ? { range: values['external-range'] } : {}),
          },
        }
      : {}),
    logger,
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    controller.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `arca-net-controller: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
