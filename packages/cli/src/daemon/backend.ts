/**
 * The lab host's network backend: `OvsNetworkBackend` (@arca-net/host) with
 * its state in `<lab>/host.db` and the helper at `unixdir:<lab>/vms/helper`,
 * adapted to what the lab's API returns.
 */
import {
  type AttachmentInfo,
  connectNetworkControl,
  dataPlaneFor,
  type NetworkInspect,
  OvsNetworkBackend,
  type RelayEngine,
} from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import type { LabPaths } from '../lab/paths.js';
import type { ComponentHealth, ContainerNetworkView, ContainerStats, NetworkView } from './api.js';
import type { NetworkBackendPort } from './service.js';

function networkView(network: NetworkInspect, attachments: AttachmentInfo[]): NetworkView {
  const mine = new Map(
    attachments.filter((a) => a.networkId === network.Id).map((a) => [a.containerId, a]),
  );
  const pool = network.IPAM.Config[0];
  const view: NetworkView = {
    id: network.Id,
    name: network.Name,
    driver: 'ovn',
    subnet: pool?.Subnet ?? '',
    gateway: pool?.Gateway ?? '',
    internal: network.Internal,
    labels: network.Labels,
    created: network.Created,
    containers: Object.entries(network.Containers).map(([id, endpoint]) => ({
      container: endpoint.Name,
      containerId: id,
      ipv4Address: endpoint.IPv4Address,
      macAddress: endpoint.MacAddress,
      aliases: mine.get(id)?.aliases ?? [],
      device: mine.get(id)?.device ?? '',
    })),
  };
  if (pool?.IPRange) view.ipRange = pool.IPRange;
  return view;
}

function attachmentView(a: AttachmentInfo): ContainerNetworkView {
  const view: ContainerNetworkView = {
    network: a.networkName,
    networkId: a.networkId,
    device: a.device,
    ipAddress: a.ip,
    prefixLength: a.prefixLength,
    gateway: a.gateway,
    macAddress: a.mac,
    aliases: a.aliases,
  };
  if (a.port !== null) view.port = a.port;
  return view;
}

const counters = (d: { frames: number; bytes: number; drops: number } | undefined) => ({
  frames: Number(d?.frames ?? 0),
  bytes: Number(d?.bytes ?? 0),
  drops: Number(d?.drops ?? 0),
});

/** Opens the backend of the lab in `paths` and replays its persisted state. */
export async function createNetworkBackend(
  paths: LabPaths,
  logger: Logger,
  options: { hostRelay: RelayEngine } = { hostRelay: 'native' },
): Promise<NetworkBackendPort> {
  const helper = { kind: 'unixdir', dir: paths.helperVmDir } as const;
  const backend = await OvsNetworkBackend.open({
    stateFile: paths.hostDb,
    helper,
    logger,
    bridge: { dataPlane: dataPlaneFor(options.hostRelay) },
  });
  const probe = await connectNetworkControl(helper, { deadlineMs: 3000, retryUnavailableMs: 0 });
  try {
    const report = await backend.reconcile();
    logger.info({ report }, 'state reconciled');
  } catch (error) {
    logger.warn({ err: error }, 'reconcile failed; the backend retries when the helper is back');
  }
  const byContainer = async (id: string): Promise<AttachmentInfo[]> =>
    (await backend.listAttachments()).filter((a) => a.containerId === id);

  return {
    async health(): Promise<ComponentHealth[]> {
      try {
        const health = await probe.client.getHealth({});
        return [
          {
            name: 'OVS/OVN (controller health)',
            healthy: health.healthy,
            detail: `ovs ${health.ovsStatus || '?'}, ovn ${health.ovnStatus || '?'}, chassis ${health.chassis || 'none'}, ${health.networks} networks, ${health.attachments} attachments`,
          },
        ];
      } catch (error) {
        return [
          {
            name: 'OVS/OVN (controller health)',
            healthy: false,
            detail: error instanceof Error ? error.message : String(error),
          },
        ];
      }
    },
    async createNetwork(body) {
      const created = await backend.createNetwork(body);
      return networkView(created, await backend.listAttachments());
    },
    async listNetworks() {
      const attachments = await backend.listAttachments();
      return (await backend.listNetworks()).map((n) => networkView(n, attachments));
    },
    async inspectNetwork(ref) {
      return networkView(await backend.inspectNetwork(ref), await backend.listAttachments());
    },
    async removeNetwork(ref) {
      const view = networkView(await backend.inspectNetwork(ref), []);
      await backend.removeNetwork(ref);
      return view;
    },
    async addContainer(container) {
      await backend.registerContainer({
        id: container.id,
        name: container.name,
        endpoint: { kind: 'unixdir', dir: container.endpoint.replace(/^unixdir:/, '') },
        running: true,
      });
    },
    async removeContainer(id) {
      await backend.unregisterContainer(id);
    },
    async connect(containerId, network, options) {
      await backend.connect(containerId, network, options);
    },
    async disconnect(containerId, network) {
      await backend.disconnect(containerId, network);
    },
    async containerNetworks(containerId) {
      return (await byContainer(containerId)).map(attachmentView);
    },
    async containerStats(containerId): Promise<ContainerStats['networks']> {
      return (await byContainer(containerId)).map((a) => {
        const entry: ContainerStats['networks'][number] = {
          network: a.networkName,
          device: a.device,
          connected: a.relay?.connected ?? false,
          fromContainer: counters(a.relay?.toHelper),
          toContainer: counters(a.relay?.toContainer),
        };
        if (a.port !== null) entry.port = a.port;
        return entry;
      });
    },
    async close() {
      await probe.close();
      await backend.close();
    },
  };
}
