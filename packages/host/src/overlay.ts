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
import { isValidDnsName } from '@arca-net/dns';
import type { network, tapforwarder } from '@arca-net/proto';
import { ClientError, Status } from 'nice-grpc';
import { errors } from './errors.js';
import type { HelperClient } from './helper-client.js';
import { ROUTER_OPTION } from './router-option.js';
import type { NetworkRecord, StateStore } from './state.js';

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
    options: b.router ? { [ROUTER_OPTION]: b.router } : {},
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

/**
 * The names of every host's endpoints on the overlay networks, as the helper
 * reads them from the central NB (ListBridges' `dnsRecords`), grouped into one
 * DNS snapshot entry per address (the first name that is not a 12-digit id
 * prefix is its name, the others its aliases). The backend polls them in a
 * cluster and pushes snapshots to its containers on a network whose names
 * changed, so names of containers on other hosts resolve through 127.0.0.11
 * (also on internal networks, where no query leaves the network).
 */
export class OverlayDns {
  readonly #peers = new Map<string, tapforwarder.ContainerDNSInfo[]>();
  readonly #keys = new Map<string, string>();

  /** Takes the helper's bridges; returns the overlay networks whose records changed. */
  update(bridges: readonly network.BridgeInfo[]): Set<string> {
    const changed = new Set<string>();
    const seen = new Set<string>();
    for (const b of bridges) {
      if (b.driver !== 'overlay') continue;
      seen.add(b.networkId);
      const records = Object.entries(b.dnsRecords).sort(([a], [c]) => a.localeCompare(c));
      const key = JSON.stringify(records);
      if (this.#keys.get(b.networkId) === key) continue;
      this.#keys.set(b.networkId, key);
      this.#peers.set(b.networkId, peersOf(records));
      changed.add(b.networkId);
    }
    for (const id of [...this.#keys.keys()]) {
      if (seen.has(id)) continue;
      this.#keys.delete(id);
      this.#peers.delete(id);
      changed.add(id);
    }
    return changed;
  }

  /** The snapshot entries of a network's endpoints on every host. */
  peers(networkId: string): tapforwarder.ContainerDNSInfo[] {
    return this.#peers.get(networkId) ?? [];
  }
}

function peersOf(records: ReadonlyArray<[string, string]>): tapforwarder.ContainerDNSInfo[] {
  const byIp = new Map<string, string[]>();
  for (const [name, ip] of records) {
    if (!isValidDnsName(name) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    byIp.set(ip, [...(byIp.get(ip) ?? []), name]);
  }
  return [...byIp].map(([ip, names]) => {
    const name = names.find((n) => !/^[0-9a-f]{12}$/.test(n)) ?? names[0] ?? '';
    return { name, id: '', ipAddress: ip, aliases: names.filter((n) => n !== name) };
  });
}

/** How often a host of a cluster reads the overlay networks and their names from its helper. */
export const CLUSTER_POLL_MS = 5000;

/**
 * A host's part of the cluster: pulls the overlay networks into the state
 * and their names into the DNS snapshots ({@link OverlayDns}), now and every
 * {@link CLUSTER_POLL_MS} (through `run`, the backend's one-at-a-time queue).
 */
export class ClusterSync {
  readonly #dns = new OverlayDns();
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly parts: {
      state: StateStore;
      helper: HelperClient;
      dns: { remotePeers: (id: string) => tapforwarder.ContainerDNSInfo[] } & {
        pushToNetworks(ids: ReadonlySet<string>): Promise<void>;
      };
    },
  ) {
    parts.dns.remotePeers = (id) => this.#dns.peers(id);
  }

  /** Overlay networks into the state, names into the snapshots of the containers whose peers changed. */
  async pull(): Promise<void> {
    const bridges = await syncOverlayNetworks(this.parts.state, this.parts.helper);
    const changed = this.#dns.update(bridges);
    if (changed.size > 0) await this.parts.dns.pushToNetworks(changed);
  }

  /** Polls through `run` until {@link stop}. */
  start(run: () => Promise<unknown>, intervalMs = CLUSTER_POLL_MS): void {
    this.#timer = setInterval(() => void run().catch(() => undefined), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
