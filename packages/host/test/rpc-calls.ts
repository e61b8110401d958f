/**
 * One call of each RPC the host makes, through the host's own clients (the
 * helper's `HelperClient`, the containers' `ForwarderPool`), for tests that
 * have a FAKE VM answer each RPC with a chosen status (see fake-vms.ts).
 */
import type { ForwarderPool, ForwarderRpc } from '../src/forwarders.js';
import type { HelperClient, HelperRpc } from '../src/helper-client.js';
import type { ContainerRecord, NetworkRecord } from '../src/state.js';

/** The network the calls name. */
export const NETWORK: NetworkRecord = {
  id: 'a'.repeat(64),
  name: 'front',
  subnet: '10.20.0.0/24',
  gateway: '10.20.0.1',
  ipRange: '',
  internal: false,
  mtu: 0,
  labels: {},
  options: {},
  created: '2024-01-01T00:00:00.000Z',
};

/** The container the calls name (register its endpoint in the pool). */
export const CONTAINER: ContainerRecord = {
  id: 'b'.repeat(64),
  name: 'one',
  endpoint: null,
  running: true,
};

/** What the calls use of a `HelperClient` (of src/ or of dist/). */
type HelperCalls = Pick<
  HelperClient,
  | 'createBridge'
  | 'deleteBridge'
  | 'attachContainer'
  | 'detachContainer'
  | 'listBridges'
  | 'uptimeSeconds'
  | 'publishPort'
  | 'unpublishPort'
  | 'attachmentStats'
>;

/** Per NetworkControl RPC, a call of it through `helper`. */
export function helperCalls(helper: HelperCalls): Record<HelperRpc, () => Promise<unknown>> {
  return {
    CreateBridge: () => helper.createBridge(NETWORK),
    DeleteBridge: () => helper.deleteBridge(NETWORK.id, NETWORK.name),
    AttachContainer: () =>
      helper.attachContainer(
        {
          containerId: CONTAINER.id,
          networkId: NETWORK.id,
          ipAddress: '10.20.0.2',
          macAddress: '02:42:0a:14:00:02',
          hostname: CONTAINER.name,
          aliases: [],
          vsockPort: 20000,
          offload: false,
        },
        'one to front',
      ),
    DetachContainer: () => helper.detachContainer(CONTAINER.id, NETWORK.id, CONTAINER.name),
    ListBridges: () => helper.listBridges(),
    GetHealth: () => helper.uptimeSeconds(AbortSignal.timeout(3000)),
    PublishPort: () =>
      helper.publishPort(
        {
          networkId: NETWORK.id,
          containerId: CONTAINER.id,
          protocol: 'tcp',
          hostPort: 8080,
          containerPort: 80,
        },
        'tcp/8080 of one on front',
      ),
    UnpublishPort: () =>
      helper.unpublishPort(
        { networkId: NETWORK.id, protocol: 'tcp', hostPort: 8080 },
        'tcp/8080 on front',
      ),
    GetAttachmentStats: () => helper.attachmentStats(CONTAINER.id, NETWORK.id),
  };
}

/** Per TAPForwarder RPC, a call of it through `pool` (of src/ or of dist/) to {@link CONTAINER}. */
export function forwarderCalls(
  pool: Pick<
    ForwarderPool,
    | 'attachNetwork'
    | 'detachNetwork'
    | 'updateDns'
    | 'setDefaultRoute'
    | 'capabilities'
    | 'listNetworks'
  >,
): Record<ForwarderRpc, () => Promise<unknown>> {
  return {
    AttachNetwork: () =>
      pool.attachNetwork(CONTAINER, {
        device: 'eth0',
        vsockPort: 20000,
        ipAddress: '10.20.0.2',
        gateway: '10.20.0.1',
        netmask: 24,
        macAddress: '02:42:0a:14:00:02',
        defaultRoute: true,
        mtu: 0,
        offload: false,
      }),
    DetachNetwork: () => pool.detachNetwork(CONTAINER, 'eth0'),
    UpdateDNSMappings: () => pool.updateDns(CONTAINER, { networks: {}, upstreamServers: [] }),
    SetDefaultRoute: () => pool.setDefaultRoute(CONTAINER, 'eth0', '10.20.0.1'),
    GetStatus: () => pool.capabilities(CONTAINER),
    ListNetworks: () => pool.listNetworks(CONTAINER),
  };
}
