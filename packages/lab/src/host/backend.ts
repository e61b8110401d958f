/**
 * The lab host's network backend: `OvsNetworkBackend` (@arca-net/host) with
 * its state in `<lab>/host.db` and the helper at `unixdir:<lab>/vms/helper`,
 * and the helper's own health (the controller's GetHealth) for `lab status`.
 */
import {
  connectNetworkControl,
  dataPlaneFor,
  OvsNetworkBackend,
  type RelayEngine,
} from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import type { ComponentHealth } from '../api/routes.js';
import type { LabPaths } from '../paths.js';

/** The opened backend of a lab and the health of its helper. */
export interface LabBackend {
  network: OvsNetworkBackend;
  /** The controller's view of OVS and OVN, as rows of `lab status`. */
  helperHealth(): Promise<ComponentHealth[]>;
  close(): Promise<void>;
}

/** Opens the backend of the lab in `paths` and replays its persisted state. */
export async function openLabBackend(
  paths: LabPaths,
  logger: Logger,
  options: { hostRelay: RelayEngine; dnsUpstreams?: string[]; cluster?: boolean },
): Promise<LabBackend> {
  const helper = { kind: 'unixdir', dir: paths.helperVmDir } as const;
  const network = await OvsNetworkBackend.open({
    stateFile: paths.hostDb,
    helper,
    logger,
    bridge: { dataPlane: dataPlaneFor(options.hostRelay) },
    dnsUpstreams: options.dnsUpstreams ?? [],
    cluster: options.cluster ?? false,
  });
  const probe = await connectNetworkControl(helper, { deadlineMs: 3000, retryUnavailableMs: 0 });
  try {
    const report = await network.reconcile();
    logger.info({ report }, 'state reconciled');
  } catch (error) {
    logger.warn({ err: error }, 'reconcile failed; the backend retries when the helper is back');
  }
  const name = 'OVS/OVN (controller health)';
  return {
    network,
    async helperHealth() {
      try {
        const health = await probe.client.getHealth({});
        return [
          {
            name,
            healthy: health.healthy,
            detail: `ovs ${health.ovsStatus || '?'}, ovn ${health.ovnStatus || '?'}, chassis ${health.chassis || 'none'}, ${health.networks} networks, ${health.attachments} attachments`,
          },
        ];
      } catch (error) {
        return [
          { name, healthy: false, detail: error instanceof Error ? error.message : String(error) },
        ];
      }
    },
    async close() {
      await probe.close();
      await network.close();
    },
  };
}
