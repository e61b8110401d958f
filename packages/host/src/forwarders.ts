/**
 * The forwarder pool: the VM endpoint of every container registered in this
 * process and one TAPForwarder client per container VM, opened on first use
 * and dropped when the VM stops or the container is unregistered. Every call
 * to a forwarder goes through here, and its failures are classified once, by
 * {@link FORWARDER_STATUS_TABLE}.
 */
import type { tapforwarder } from '@arca-net/proto';
import type { VmEndpoint } from '@arca-net/vsock';
import {
  type ClientOptions,
  connectTapForwarder,
  type ServiceConnection,
  type TapForwarderClient,
} from './clients.js';
import { errors, type NetworkBackendError } from './errors.js';
import {
  callRpc,
  NOTHING_REMOVED,
  nothingToRemove,
  type RpcFailure,
  type StatusTable,
} from './rpc-errors.js';
import type { ContainerRecord } from './state.js';

/** The TAPForwarder RPCs the backend calls. */
export type ForwarderRpc =
  | 'AttachNetwork'
  | 'DetachNetwork'
  | 'UpdateDNSMappings'
  | 'SetDefaultRoute'
  | 'GetStatus'
  | 'ListNetworks';

/**
 * (RPC, status) → host error code. No forwarder status means anything more
 * specific to the host than the fallbacks: FORWARDER_UNAVAILABLE (UNAVAILABLE,
 * DEADLINE_EXCEEDED, CANCELLED) or FORWARDER_FAILED, with the forwarder's
 * message; NOT_FOUND from DetachNetwork means there was nothing to remove.
 */
export const FORWARDER_STATUS_TABLE: StatusTable<ForwarderRpc, never> = {
  AttachNetwork: {},
  DetachNetwork: {},
  UpdateDNSMappings: {},
  SetDefaultRoute: {},
  GetStatus: {},
  ListNetworks: {},
};

function forwarderError(container: string, failure: RpcFailure<never>): NetworkBackendError {
  return failure.code === 'unreachable'
    ? errors.forwarderUnavailable(container, failure.detail, failure.cause)
    : errors.forwarderFailed(container, failure.detail, failure.cause);
}

interface PoolEntry {
  endpoint: VmEndpoint;
  conn: Promise<ServiceConnection<TapForwarderClient>>;
}

/** Container VM endpoints and their TAPForwarder clients, with the host's errors. */
export class ForwarderPool {
  readonly #options: ClientOptions;
  /** Endpoints of containers registered in this process (the only copy of `fd` endpoints). */
  readonly #endpoints = new Map<string, VmEndpoint>();
  readonly #clients = new Map<string, PoolEntry>();

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  /** Records how to reach a container's VM (a new endpoint replaces the client at next use). */
  setEndpoint(containerId: string, endpoint: VmEndpoint): void {
    this.#endpoints.set(containerId, endpoint);
  }

  /** Whether this process knows how to reach the container's VM. */
  knows(containerId: string): boolean {
    return this.#endpoints.has(containerId);
  }

  /** The container VM's endpoint; FORWARDER_UNAVAILABLE when none was registered in this process. */
  endpointOf(c: ContainerRecord): VmEndpoint {
    const endpoint = this.#endpoints.get(c.id);
    if (!endpoint) {
      throw errors.forwarderUnavailable(
        c.name,
        'no VM endpoint registered in this process (call registerContainer)',
      );
    }
    return endpoint;
  }

  /** Creates (or confirms) a device in the container VM; the reply carries the MAC it set. */
  async attachNetwork(
    c: ContainerRecord,
    request: tapforwarder.AttachNetworkRequest,
  ): Promise<tapforwarder.AttachNetworkResponse> {
    const client = await this.#client(c);
    return callRpc(
      FORWARDER_STATUS_TABLE,
      'AttachNetwork',
      `AttachNetwork ${request.device}`,
      () => client.attachNetwork(request),
      (failure) => forwarderError(c.name, failure),
    );
  }

  /** The forwarder's optional features (its GetStatus `capabilities`, e.g. "offload"). */
  async capabilities(c: ContainerRecord): Promise<string[]> {
    return (await this.getStatus(c)).capabilities ?? [];
  }

  /** Removes a device from the container VM; false when it did not exist. */
  async detachNetwork(c: ContainerRecord, device: string): Promise<boolean> {
    const client = await this.#client(c);
    const reply = await callRpc(
      FORWARDER_STATUS_TABLE,
      'DetachNetwork',
      `DetachNetwork ${device}`,
      () => client.detachNetwork({ device }).catch(nothingToRemove),
      (failure) => forwarderError(c.name, failure),
    );
    return reply !== NOTHING_REMOVED;
  }

  /** Replaces the container VM's DNS records. */
  async updateDns(
    c: ContainerRecord,
    snapshot: tapforwarder.UpdateDNSMappingsRequest,
  ): Promise<void> {
    const client = await this.#client(c);
    await callRpc(
      FORWARDER_STATUS_TABLE,
      'UpdateDNSMappings',
      'UpdateDNSMappings',
      () => client.updateDNSMappings(snapshot),
      (failure) => forwarderError(c.name, failure),
    );
  }

  /** Makes `gateway` on `device` the container's one default route; device '' = none. */
  async setDefaultRoute(c: ContainerRecord, device: string, gateway: string): Promise<void> {
    const client = await this.#client(c);
    await callRpc(
      FORWARDER_STATUS_TABLE,
      'SetDefaultRoute',
      `SetDefaultRoute ${device || 'none'}`,
      () => client.setDefaultRoute({ device, gateway }),
      (failure) => forwarderError(c.name, failure),
    );
  }

  /** The forwarder's status (uptime, devices it holds); `signal` bounds the call. */
  async getStatus(
    c: ContainerRecord,
    signal?: AbortSignal,
  ): Promise<tapforwarder.GetStatusResponse> {
    const client = await this.#client(c);
    return callRpc(
      FORWARDER_STATUS_TABLE,
      'GetStatus',
      'GetStatus',
      () => client.getStatus({}, signal ? { signal } : {}),
      (failure) => forwarderError(c.name, failure),
    );
  }

  /** The forwarder's devices with their relay and TAP counters; `signal` bounds the call. */
  async listNetworks(
    c: ContainerRecord,
    signal?: AbortSignal,
  ): Promise<tapforwarder.NetworkInfo[]> {
    const client = await this.#client(c);
    const res = await callRpc(
      FORWARDER_STATUS_TABLE,
      'ListNetworks',
      'ListNetworks',
      () => client.listNetworks({}, signal ? { signal } : {}),
      (failure) => forwarderError(c.name, failure),
    );
    return res.networks;
  }

  /** Closes the container's client (its VM stopped or has a new endpoint); the endpoint stays. */
  async drop(containerId: string): Promise<void> {
    const entry = this.#clients.get(containerId);
    if (!entry) return;
    this.#clients.delete(containerId);
    await entry.conn.then((conn) => conn.close()).catch(() => undefined);
  }

  /** Closes the container's client and forgets its endpoint (the container is unregistered). */
  async forget(containerId: string): Promise<void> {
    await this.drop(containerId);
    this.#endpoints.delete(containerId);
  }

  /** Closes every client. */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.keys()].map((id) => this.drop(id)));
  }

  /** The container's client, opened on first use and again when its endpoint changed. */
  async #client(c: ContainerRecord): Promise<TapForwarderClient> {
    const endpoint = this.endpointOf(c);
    let entry = this.#clients.get(c.id);
    if (!entry || entry.endpoint !== endpoint) {
      if (entry) await this.drop(c.id);
      const fresh: PoolEntry = { endpoint, conn: connectTapForwarder(endpoint, this.#options) };
      this.#clients.set(c.id, fresh);
      fresh.conn.catch(() => {
        if (this.#clients.get(c.id) === fresh) this.#clients.delete(c.id);
      });
      entry = fresh;
    }
    try {
      return (await entry.conn).client;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw errors.forwarderFailed(c.name, `cannot open the control channel: ${why}`, err);
    }
  }
}
