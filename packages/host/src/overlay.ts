/**
 * Overlay networks (docs/cluster.md): a network of the whole cluster lives in
 * the central NB database, which every host's helper reads. A host learns the
 * overlay networks that other hosts created from its helper's ListBridges and
 * keeps a row for each in its state (same id, name and addressing), so
 * `network ls`, `inspect` and `connect` find them like its own; one that is
 * gone from the central and has no attachment here goes from the state too.
 *
 * Addresses on an overlay network come from the central (OVN's IPAM in one
 * transaction), never from this host's state: another host may be connecting
 * at the same moment. The attachment row holds a placeholder until the
 * helper's answer gives the address.
 */
import type { network } from '@arca-net/proto';
import { ClientError, Status } from 'nice-grpc';
import { errors } from './errors.js';
import type { HelperClient } from './helper-client.js';
import type { NetworkRecord, StateStore } from './state.js';

/**
 * Frame format of an attachment: overlay networks need plain framing (no
 * virtio-net header, no TSO), because OVS 3.1 drops offloaded packets where
 * they enter a Geneve tunnel. Wherever the host picks an attachment's framing
 * (offload mode), it must ask this first.
 */
export function needsPlainFraming(n: Pick<NetworkRecord, 'driver'>): boolean {
  return n.driver === 'overlay';
}

/** The IP column of an overlay attachment whose address the central has not given yet. */
export function overlayPlaceholderIp(containerId: string): string {
  return `pending-${containerId.slice(0, 12)}`;
}

/** True for {@link overlayPlaceholderIp} values. */
export function isPlaceholderIp(ip: string): boolean {
  return ip.startsWith('pending-');
}

function recordOf(b: network.BridgeInfo): NetworkRecord {
  return {
    id: b.networkId,
    name: b.name || b.networkId.slice(0, 12),
    subnet: b.subnet,
    gateway: b.gateway,
    ipRange: b.ipRange,
    internal: b.internal,
    mtu: b.mtu,
    labels: { ...b.labels },
    options: {},
    created: new Date().toISOString(),
    driver: 'overlay',
  };
}

/**
 * Brings the state's overlay networks in line with the helper's (the
 * central's) list. Returns the helper's bridges, for callers that need them.
 */
export async function syncOverlayNetworks(
  state: StateStore,
  helper: HelperClient,
): Promise<network.BridgeInfo[]> {
  const bridges = await helper.listBridges();
  const overlays = bridges.filter((b) => b.driver === 'overlay');
  const present = new Set(overlays.map((b) => b.networkId));
  for (const b of overlays) {
    if (state.getNetwork(b.networkId)) continue;
    const clash = state.findNetwork(b.name);
    // A local network of the same name hides the overlay one on this host.
    if (clash?.name === b.name) continue;
    state.insertNetwork(recordOf(b));
  }
  for (const n of state.listNetworks()) {
    if (
      n.driver === 'overlay' &&
      !present.has(n.id) &&
      state.attachmentsOfNetwork(n.id).length === 0
    ) {
      state.deleteNetwork(n.id);
    }
  }
  return bridges;
}

/**
 * DeleteBridge of a network. An overlay network that another host still has
 * endpoints on is refused by the helper (FAILED_PRECONDITION): Docker's "has
 * active endpoints", as for this host's own.
 */
export async function deleteNetworkInHelper(helper: HelperClient, n: NetworkRecord): Promise<void> {
  try {
    await helper.deleteBridge(n.id, n.name);
  } catch (err) {
    const status = (err as { cause?: unknown }).cause;
    const refused = status instanceof ClientError && status.code === Status.FAILED_PRECONDITION;
    if (refused && n.driver === 'overlay') {
      throw errors.networkHasEndpoints(n.name, n.id);
    }
    throw err;
  }
}
