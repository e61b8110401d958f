/**
 * The work behind the facade's network and container lifecycle calls
 * (backend.ts serialises them): `docker network create/rm` and a container's
 * create, start, stop and rm, each leaving everything unchanged on an error.
 */
import { formatVmEndpoint, type VmEndpoint } from '@arca-net/vsock';
import type { AttachmentParts, Attachments } from './attach.js';
import {
  type ContainerSpec,
  type CreateNetworkOptions,
  checkContainerSpec,
  checkNetworkName,
  newNetworkRecord,
} from './docker.js';
import { errors } from './errors.js';
import { checkCreateNetworkBounds } from './limits.js';
import { deleteNetworkInHelper, syncOverlayNetworks } from './overlay.js';
import type { Publisher } from './publish.js';
import type { ContainerRecord, NetworkRecord } from './state.js';

/** What a container's lifecycle touches besides the parts: its attachments and published ports. */
export interface LifecycleParts extends AttachmentParts {
  attachments: Attachments;
  publisher: Publisher;
}

/**
 * Validates name and addressing with Docker's rules and errors, stores the
 * network, then creates the helper's logical switch (undone on failure).
 */
export async function createNetwork(
  p: AttachmentParts,
  options: CreateNetworkOptions,
): Promise<NetworkRecord> {
  const { state, helper, log } = p;
  checkCreateNetworkBounds(options);
  checkNetworkName(options.name);
  if (options.driver === 'overlay') await syncOverlayNetworks(state, helper);
  if (state.findNetwork(options.name)?.name === options.name) {
    throw errors.networkNameExists(options.name);
  }
  const record = newNetworkRecord(
    options,
    state.listNetworks().map((n) => n.subnet),
  );
  state.insertNetwork(record);
  try {
    await helper.createBridge(record, p.dns.upstreamsOf(record));
  } catch (err) {
    state.deleteNetwork(record.id);
    await helper.deleteBridge(record.id, record.name).catch(() => undefined);
    throw err;
  }
  log.info({ network: record.name, id: record.id, subnet: record.subnet }, 'network created');
  return record;
}

/** Refused with Docker's "has active endpoints" while any container (running or stopped) is connected. */
export async function removeNetwork(p: AttachmentParts, n: NetworkRecord): Promise<void> {
  if (p.state.attachmentsOfNetwork(n.id).length > 0) {
    throw errors.networkHasEndpoints(n.name, n.id);
  }
  await deleteNetworkInHelper(p.helper, n);
  p.state.deleteNetwork(n.id);
  p.log.info({ network: n.name, id: n.id }, 'network removed');
}

/** Records a container (names unique like Docker's) and its VM's endpoint. */
export function registerContainer(p: AttachmentParts, spec: ContainerSpec): void {
  const { state, forwarders } = p;
  checkContainerSpec(spec);
  const clash = state.findContainer(spec.name);
  if (clash && clash.id !== spec.id && clash.name === spec.name) {
    throw errors.containerExists(spec.name, clash.id);
  }
  const existing = state.getContainer(spec.id);
  state.upsertContainer({
    id: spec.id,
    name: spec.name,
    endpoint: spec.endpoint.kind === 'fd' ? null : formatVmEndpoint(spec.endpoint),
    running: spec.running ?? existing?.running ?? false,
  });
  forwarders.setEndpoint(spec.id, spec.endpoint);
}

/** Removes the container's published ports and attachments everywhere, then its record. */
export async function unregisterContainer(p: LifecycleParts, c: ContainerRecord): Promise<void> {
  const { state, ports, forwarders, dns } = p;
  await p.publisher.forget(c);
  const networks = new Set<string>();
  for (const a of state.attachmentsOfContainer(c.id)) {
    await p.attachments.teardown(c, a, { forwarder: c.running });
    state.deleteAttachment(c.id, a.networkId);
    if (a.port !== null) ports.release(a.port);
    networks.add(a.networkId);
  }
  state.deleteContainer(c.id);
  await forwarders.forget(c.id);
  await dns.pushToNetworks(networks);
}

/**
 * Restores every network of a started container with the same device, IP
 * and MAC; rejects with the first failure after trying every network.
 */
export async function containerStarted(
  p: LifecycleParts,
  c: ContainerRecord,
  endpoint?: VmEndpoint,
): Promise<void> {
  const { state, forwarders, dns } = p;
  if (endpoint) {
    forwarders.setEndpoint(c.id, endpoint);
    if (endpoint.kind !== 'fd') {
      state.upsertContainer({ ...c, endpoint: formatVmEndpoint(endpoint) });
    }
  }
  await forwarders.drop(c.id);
  state.setContainerRunning(c.id, true);
  const running = { ...c, running: true };
  const { networks, failures } = await p.attachments.restoreAll(running);
  await dns.pushToNetworks(networks);
  await p.attachments.routeDefault(running);
  await p.publisher.restore(running);
  if (failures.length > 0) throw failures[0];
}

/** Closes a stopped container's relays and helper ports; IP, MAC and device are kept. */
export async function containerStopped(p: LifecycleParts, c: ContainerRecord): Promise<void> {
  const { state, forwarders, dns } = p;
  await p.publisher.release(c);
  state.setContainerRunning(c.id, false);
  const networks = await p.attachments.stopAll(c);
  await forwarders.drop(c.id);
  await dns.pushToNetworks(networks);
}
