/**
 * DNS snapshots and their fan-out: each container VM's embedded DNS server
 * holds the full list of its peers (every network it is ready on, with the
 * running containers there and their aliases), replaced as a whole by
 * UpdateDNSMappings whenever a network's membership changes.
 */
import type { Logger } from '@arca-net/log';
import type { tapforwarder } from '@arca-net/proto';
import { networkUpstreams, optionUpstreams } from './dns-upstreams.js';
import type { ForwarderPool } from './forwarders.js';
import type { ContainerRecord, NetworkRecord, StateStore } from './state.js';

/** The name of Docker's default network, which has no embedded DNS names in Docker. */
export const DEFAULT_BRIDGE = 'bridge';

/** Builds containers' DNS snapshots from the state and pushes them through the forwarder pool. */
export class DnsFanOut {
  readonly #state: StateStore;
  readonly #forwarders: ForwarderPool;
  readonly #upstreams: string[];
  readonly #log: Logger;
  /** In a cluster: the names other hosts' containers have on an overlay network (overlay.ts). */
  remotePeers: (networkId: string) => tapforwarder.ContainerDNSInfo[] = () => [];

  /** `upstreams`: resolvers ("ip" or "ip:port") sent with every snapshot; empty = the VMs' own. */
  constructor(state: StateStore, forwarders: ForwarderPool, upstreams: string[], log: Logger) {
    this.#state = state;
    this.#forwarders = forwarders;
    this.#upstreams = upstreams;
    this.#log = log;
  }

  /** The upstreams of a network's resolvers: its own option, else the backend's. */
  upstreamsOf(n: NetworkRecord): string[] {
    return networkUpstreams(n, this.#upstreams);
  }

  /** The DNS snapshot of one container: every network it is ready on, with the running peers there. */
  snapshot(containerId: string): tapforwarder.UpdateDNSMappingsRequest {
    const networks: Record<string, tapforwarder.NetworkPeers> = {};
    const upstreams = new Set<string>();
    for (const mine of this.#state.attachmentsOfContainer(containerId)) {
      if (mine.status !== 'ready') continue;
      const n = this.#state.getNetwork(mine.networkId);
      if (!n) continue;
      // Docker's default bridge gives its containers no names (only user networks do).
      if (n.name === DEFAULT_BRIDGE) continue;
      const containers: tapforwarder.ContainerDNSInfo[] = [];
      for (const peer of this.#state.attachmentsOfNetwork(n.id)) {
        if (peer.status !== 'ready') continue;
        const pc = this.#state.getContainer(peer.containerId);
        if (!pc) continue;
        containers.push({ name: pc.name, id: pc.id, ipAddress: peer.ip, aliases: peer.aliases });
      }
      const local = new Set(containers.map((c) => c.ipAddress));
      containers.push(...this.remotePeers(n.id).filter((c) => !local.has(c.ipAddress)));
      networks[n.name] = { containers };
      for (const u of optionUpstreams(n.options)) upstreams.add(u);
    }
    // A network's own upstreams win; the backend's apply when none of its networks names any.
    return {
      networks,
      upstreamServers: upstreams.size > 0 ? [...upstreams] : this.#upstreams,
    };
  }

  /** Pushes a container's snapshot; with `strict` a failure is thrown, else logged. */
  async push(c: ContainerRecord, strict: boolean): Promise<void> {
    try {
      await this.#forwarders.updateDns(c, this.snapshot(c.id));
    } catch (err) {
      if (strict) throw err;
      this.#log.warn({ container: c.name, err }, 'DNS snapshot push failed');
    }
  }

  /** Pushes snapshots to every running container ready on any of `networkIds` (except `skip`). */
  async pushToNetworks(networkIds: ReadonlySet<string>, skip?: string): Promise<void> {
    const targets = new Set<string>();
    for (const id of networkIds) {
      for (const a of this.#state.attachmentsOfNetwork(id)) {
        if (a.status === 'ready' && a.containerId !== skip) targets.add(a.containerId);
      }
    }
    await Promise.all(
      [...targets].map(async (id) => {
        const c = this.#state.getContainer(id);
        if (c?.running && this.#forwarders.knows(id)) await this.push(c, false);
      }),
    );
  }
}
