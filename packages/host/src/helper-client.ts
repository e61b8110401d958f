/**
 * The backend's client of the helper VM's NetworkControl: every call the
 * backend makes to the helper goes through here, and its failures are
 * classified once, by {@link HELPER_STATUS_TABLE}.
 */
import type { network } from '@arca-net/proto';
import type { VmEndpoint } from '@arca-net/vsock';
import { Status } from 'nice-grpc';
import {
  type ClientOptions,
  connectNetworkControl,
  type NetworkControlClient,
  type ServiceConnection,
} from './clients.js';
import { errors, type NetworkBackendError } from './errors.js';
import { networkRouter } from './router-option.js';
import {
  callRpc,
  NOTHING_REMOVED,
  nothingToRemove,
  type RpcFailure,
  type StatusTable,
} from './rpc-errors.js';
import type { NetworkRecord } from './state.js';

/** The NetworkControl RPCs the backend calls. */
export type HelperRpc =
  | 'CreateBridge'
  | 'DeleteBridge'
  | 'AttachContainer'
  | 'DetachContainer'
  | 'ListBridges'
  | 'GetHealth'
  | 'PublishPort'
  | 'UnpublishPort'
  | 'GetAttachmentStats';

/** The host error codes a helper status can become besides the fallbacks. */
type HelperCode =
  | 'POOL_OVERLAP'
  | 'EXTERNAL_ADDRESSES_EXHAUSTED'
  | 'ADDRESS_IN_USE'
  | 'NORTHD_UNAVAILABLE';

/**
 * (RPC, status) → host error code, for the statuses that mean something
 * specific to the host:
 * - CreateBridge ALREADY_EXISTS: the subnet clashes with one the helper has
 *   (the host checked its own networks and names already);
 * - CreateBridge RESOURCE_EXHAUSTED: no address left in the helper's external
 *   network, which every non-internal network takes one of;
 * - AttachContainer ALREADY_EXISTS: the IP, MAC or data port is taken there;
 * - AttachContainer FAILED_PRECONDITION: the helper's ovn-northd is down
 *   (OVN_NORTHD_DOWN), so the new port could never be bound.
 * Any other status becomes HELPER_UNAVAILABLE (UNAVAILABLE, DEADLINE_EXCEEDED,
 * CANCELLED) or HELPER_FAILED. Every error carries the helper's message and
 * the ClientError as its cause. NOT_FOUND from DeleteBridge,
 * DetachContainer and UnpublishPort means there was nothing to remove.
 */
export const HELPER_STATUS_TABLE: StatusTable<HelperRpc, HelperCode> = {
  CreateBridge: {
    [Status.ALREADY_EXISTS]: 'POOL_OVERLAP',
    [Status.RESOURCE_EXHAUSTED]: 'EXTERNAL_ADDRESSES_EXHAUSTED',
  },
  DeleteBridge: {},
  AttachContainer: {
    [Status.ALREADY_EXISTS]: 'ADDRESS_IN_USE',
    [Status.FAILED_PRECONDITION]: 'NORTHD_UNAVAILABLE',
  },
  DetachContainer: {},
  ListBridges: {},
  GetHealth: {},
  PublishPort: {},
  UnpublishPort: {},
  GetAttachmentStats: {},
};

function helperError(failure: RpcFailure<HelperCode>): NetworkBackendError {
  const said = `helper VM: ${failure.detail}`;
  switch (failure.code) {
    case 'POOL_OVERLAP':
      return errors.poolOverlap(said, failure.cause);
    case 'EXTERNAL_ADDRESSES_EXHAUSTED':
      return errors.externalAddressesExhausted(said, failure.cause);
    case 'ADDRESS_IN_USE':
      return errors.addressInUse(said, failure.cause);
    case 'NORTHD_UNAVAILABLE':
      return errors.northdUnavailable(said, failure.cause);
    case 'unreachable':
      return errors.helperUnavailable(failure.detail, failure.cause);
    case 'failed':
      return errors.helperFailed(failure.detail, failure.cause);
  }
}

/** The helper's NetworkControl with the host's errors. Create with {@link HelperClient.connect}. */
export class HelperClient {
  /** How the host reaches the helper VM (its relays listen on P + 10000 there). */
  readonly endpoint: VmEndpoint;
  readonly #conn: ServiceConnection<NetworkControlClient>;

  private constructor(endpoint: VmEndpoint, conn: ServiceConnection<NetworkControlClient>) {
    this.endpoint = endpoint;
    this.#conn = conn;
  }

  /** Opens the client; nothing is dialled until the first call. */
  static async connect(endpoint: VmEndpoint, options?: ClientOptions): Promise<HelperClient> {
    return new HelperClient(endpoint, await connectNetworkControl(endpoint, options));
  }

  #call<T extends object>(
    rpc: HelperRpc,
    what: string,
    call: (client: NetworkControlClient) => Promise<T>,
  ): Promise<T> {
    return callRpc(HELPER_STATUS_TABLE, rpc, what, () => call(this.#conn.client), helperError);
  }

  /**
   * Creates the network's logical switch, or confirms an identical one
   * (idempotent); `dnsUpstreams` go to the network's resolver in the helper.
   */
  async createBridge(n: NetworkRecord, dnsUpstreams: string[] = []): Promise<void> {
    await this.#call('CreateBridge', `CreateBridge ${n.name}`, (client) =>
      client.createBridge({
        networkId: n.id,
        subnet: n.subnet,
        gateway: n.gateway,
        name: n.name,
        internal: n.internal,
        ipRange: n.ipRange,
        mtu: n.mtu,
        labels: n.labels,
        dnsUpstreams,
        driver: n.driver ?? '',
        router: networkRouter(n),
      }),
    );
  }

  /** Deletes a network; false when the helper did not have it. */
  async deleteBridge(networkId: string, label: string = networkId): Promise<boolean> {
    const reply = await this.#call('DeleteBridge', `DeleteBridge ${label}`, (client) =>
      client.deleteBridge({ networkId }).catch(nothingToRemove),
    );
    return reply !== NOTHING_REMOVED;
  }

  /** Attaches a container (idempotent on the same parameters); the reply carries IP, prefix and gateway. */
  attachContainer(
    request: network.AttachContainerRequest,
    label: string,
  ): Promise<network.AttachContainerResponse> {
    return this.#call('AttachContainer', `AttachContainer ${label}`, (client) =>
      client.attachContainer(request),
    );
  }

  /** Detaches a container from a network; false when it was not attached there. */
  async detachContainer(containerId: string, networkId: string, label: string): Promise<boolean> {
    const reply = await this.#call('DetachContainer', `DetachContainer ${label}`, (client) =>
      client.detachContainer({ containerId, networkId }).catch(nothingToRemove),
    );
    return reply !== NOTHING_REMOVED;
  }

  /** Puts a published port's load balancer on the network's external address; returns `ip:port`. */
  async publishPort(request: network.PublishPortRequest, label: string): Promise<string> {
    const reply = await this.#call('PublishPort', `PublishPort ${label}`, (client) =>
      client.publishPort(request),
    );
    return reply.externalAddress;
  }

  /** Removes a published port's load balancer; false when the helper did not have it. */
  async unpublishPort(request: network.UnpublishPortRequest, label: string): Promise<boolean> {
    const reply = await this.#call('UnpublishPort', `UnpublishPort ${label}`, (client) =>
      client.unpublishPort(request).catch(nothingToRemove),
    );
    return reply !== NOTHING_REMOVED;
  }

  /** Every network the helper has, with its endpoints. */
  async listBridges(): Promise<network.BridgeInfo[]> {
    return (await this.#call('ListBridges', 'ListBridges', (client) => client.listBridges({})))
      .bridges;
  }

  /** The helper's uptime in seconds (its GetHealth), within `signal`. */
  async uptimeSeconds(signal: AbortSignal): Promise<number> {
    const health = await this.#call('GetHealth', 'GetHealth', (client) =>
      client.getHealth({}, { signal }),
    );
    return Number(health.uptimeSeconds);
  }

  /** The helper's optional features (its GetHealth `capabilities`, e.g. "offload"). */
  async capabilities(): Promise<string[]> {
    const health = await this.#call('GetHealth', 'GetHealth', (client) => client.getHealth({}));
    return health.capabilities ?? [];
  }

  /** The helper relay's counters and drop counters of an attachment, within `signal`. */
  async attachmentStats(
    containerId: string,
    networkId: string,
    signal?: AbortSignal,
  ): Promise<network.GetAttachmentStatsResponse> {
    return this.#call('GetAttachmentStats', 'GetAttachmentStats', (client) =>
      client.getAttachmentStats({ containerId, networkId }, signal ? { signal } : {}),
    );
  }

  /** Closes the channel. Idempotent. */
  close(): Promise<void> {
    return this.#conn.close();
  }
}
