/**
 * OvsNetworkBackend: the API a container runtime's daemon embeds to give its
 * containers Docker networks on the helper VM's OVN. It owns the desired
 * state (SQLite), drives the helper's NetworkControl (helper-client.ts) and
 * each container's TAPForwarder (forwarders.ts), runs one relay per
 * attachment through the NetworkBridge (attach.ts), and speaks Docker's
 * semantics and error messages (docker.ts, errors.ts).
 *
 * Every mutating call is serialised here; each writes its intent to the
 * state store before touching a VM and rolls back what it did when a step
 * fails.
 */

import { type Logger, silentLogger } from '@arca-net/log';
import { parseVmEndpoint, type VmEndpoint } from '@arca-net/vsock';
import { type AttachmentInfo, type AttachmentParts, Attachments } from './attach.js';
import { NetworkBridge, type NetworkBridgeOptions } from './bridge.js';
import type { ClientOptions } from './clients.js';
import { DnsFanOut } from './dns.js';
import { checkUpstreams } from './dns-upstreams.js';
import {
  type ConnectOptions,
  type ContainerSpec,
  type CreateNetworkOptions,
  inspectNetwork,
  type NetworkInspect,
} from './docker.js';
import { type AttachmentDrops, readAttachmentDrops } from './drops.js';
import { errors } from './errors.js';
import * as fwatch from './forwarder-watch.js';
import { ForwarderPool } from './forwarders.js';
import { HelperClient } from './helper-client.js';
import * as life from './lifecycle.js';
import { checkRef } from './limits.js';
import type { OffloadPreference } from './offload.js';
import { ClusterSync } from './overlay.js';
import { parsePortSpecs } from './port-spec.js';
import { PortAllocator } from './ports.js';
import { type PublishedPort, Publisher } from './publish.js';
import { HelperWatch, type ReconcileReport, reconcile } from './reconcile.js';
import { type ContainerRecord, type NetworkRecord, StateStore } from './state.js';

/** Options of {@link OvsNetworkBackend.open}. */
export interface OvsNetworkBackendOptions {
  /** SQLite file of the desired state; `':memory:'` keeps it in memory (tests). */
  stateFile: string;
  /** How the host reaches the helper VM (NetworkControl on 9999, relays on P + 10000). */
  helper: VmEndpoint;
  logger?: Logger;
  /** Deadlines and retries of gRPC calls. */
  client?: ClientOptions;
  /** Dial policy and data plane of the relays. */
  bridge?: NetworkBridgeOptions;
  /** Upstream resolvers ("ip" or "ip:port") sent with every DNS snapshot; empty = the VMs' own. */
  dnsUpstreams?: string[];
  /**
   * Interval of the helper health watch, ms: when the helper comes back after
   * being unreachable, or its uptime shows that it restarted between two polls,
   * {@link OvsNetworkBackend.reconcile} runs by itself. 0 disables the watch
   * (default 2000).
   */
  helperWatchMs?: number;
  /** Forwarder watch interval, ms (forwarder-watch.ts; 0 disables it; default 2000). */
  forwarderWatchMs?: number;
  /** This host is one of a cluster (docs/cluster.md): listings pick up overlay networks of the others. */
  cluster?: boolean;
  /**
   * Offload framing of a connect that names none (its `offload` option):
   * 'auto' (default) negotiates per attachment, 'off' keeps every stream plain.
   */
  offload?: OffloadPreference;
}

/** The embeddable network backend. Create with {@link OvsNetworkBackend.open}; always {@link close}. */
export class OvsNetworkBackend {
  readonly #p: AttachmentParts;
  readonly #attachments: Attachments;
  readonly #publisher: Publisher;
  readonly #life: life.LifecycleParts;
  #watch?: HelperWatch;
  #forwarderWatch?: fwatch.ForwarderWatch;
  readonly #cluster?: ClusterSync;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: OvsNetworkBackendOptions, state: StateStore, helper: HelperClient) {
    const log = (options.logger ?? silentLogger).child({ component: 'backend' });
    const forwarders = new ForwarderPool(options.client ?? {});
    for (const c of state.listContainers()) {
      if (c.endpoint) forwarders.setEndpoint(c.id, parseVmEndpoint(c.endpoint));
    }
    this.#p = {
      state,
      helper,
      forwarders,
      log,
      ports: new PortAllocator(
        state.listAttachments().flatMap((a) => (a.port === null ? [] : [a.port])),
      ),
      bridge: new NetworkBridge({
        ...options.bridge,
        logger: options.bridge?.logger ?? options.logger ?? silentLogger,
      }),
      dns: new DnsFanOut(state, forwarders, options.dnsUpstreams ?? [], log),
      offloadDefault: options.offload ?? 'auto',
    };
    this.#attachments = new Attachments(this.#p);
    if (options.cluster) this.#cluster = new ClusterSync(this.#p);
    this.#publisher = new Publisher(this.#p);
    this.#life = { ...this.#p, attachments: this.#attachments, publisher: this.#publisher };
  }

  /**
   * Opens the state store and the helper's client. Nothing is dialled yet:
   * register the runtime's containers (for `fd` endpoints) and then call
   * {@link reconcile} to bring persisted attachments back after a restart.
   */
  static async open(options: OvsNetworkBackendOptions): Promise<OvsNetworkBackend> {
    checkUpstreams(options.dnsUpstreams ?? []);
    const state = StateStore.open(options.stateFile);
    let helper: HelperClient;
    try {
      helper = await HelperClient.connect(options.helper, options.client);
    } catch (err) {
      state.close();
      throw err;
    }
    const backend = new OvsNetworkBackend(options, state, helper);
    const watchMs = options.helperWatchMs ?? 2000;
    if (watchMs > 0) {
      backend.#watch = new HelperWatch(helper, watchMs, () => backend.reconcile(), backend.#p.log);
      backend.#cluster?.start(() => backend.#exclusive(() => backend.#pullOverlays()));
    }
    const forwarderMs = options.forwarderWatchMs ?? 2000;
    if (forwarderMs > 0) {
      backend.#forwarderWatch = fwatch.watchForwarders(backend.#p, forwarderMs, (id) =>
        backend.#exclusive(() => fwatch.reapplyContainer(backend.#p, backend.#attachments, id)),
      );
    }
    return backend;
  }

  // --- networks ----------------------------------------------------------------

  /**
   * Creates a network (`docker network create`): validates name and
   * addressing with Docker's rules and errors, stores it, then creates the
   * helper's logical switch. Returns the network as inspect shows it.
   */
  createNetwork(options: CreateNetworkOptions): Promise<NetworkInspect> {
    return this.#exclusive(async () =>
      inspectNetwork(this.#p.state, await life.createNetwork(this.#p, options)),
    );
  }

  /**
   * Removes a network (`docker network rm`). Refused with Docker's "has
   * active endpoints" while any container (running or stopped) is connected.
   */
  removeNetwork(idOrName: string): Promise<void> {
    return this.#exclusive(() => life.removeNetwork(this.#p, this.#requireNetwork(idOrName)));
  }

  /** Every network, as inspect shows it (`docker network ls`). */
  async listNetworks(): Promise<NetworkInspect[]> {
    await this.#syncOverlays();
    return this.#p.state.listNetworks().map((n) => inspectNetwork(this.#p.state, n));
  }

  /** One network by id, name or unique id prefix (`docker network inspect`). */
  async inspectNetwork(idOrName: string): Promise<NetworkInspect> {
    await this.#syncOverlays();
    return inspectNetwork(this.#p.state, this.#requireNetwork(idOrName));
  }

  // --- containers --------------------------------------------------------------

  /**
   * Registers a container (at create time, and again after a daemon restart
   * for `fd` endpoints). Names are unique like Docker's.
   */
  registerContainer(spec: ContainerSpec): Promise<void> {
    return this.#exclusive(async () => life.registerContainer(this.#p, spec));
  }

  /** Forgets a container (`docker rm`): removes its attachments everywhere, then its record. */
  unregisterContainer(idOrName: string): Promise<void> {
    return this.#exclusive(() =>
      life.unregisterContainer(this.#life, this.#requireContainer(idOrName)),
    );
  }

  /**
   * The container's VM is up (`docker start`): restores every network it is
   * connected to with the same device, IP and MAC. `endpoint` replaces the
   * registered one (a restarted VM may have a new CID). Rejects with the
   * first failure after trying every network; the failed ones stay stopped.
   */
  containerStarted(idOrName: string, endpoint?: VmEndpoint): Promise<void> {
    return this.#exclusive(() =>
      life.containerStarted(this.#life, this.#requireContainer(idOrName), endpoint),
    );
  }

  /**
   * The container's VM stopped (`docker stop`, crash): closes its relays,
   * detaches it in the helper and releases its ports. IP, MAC and device are
   * kept for {@link containerStarted}.
   */
  containerStopped(idOrName: string): Promise<void> {
    return this.#exclusive(() =>
      life.containerStopped(this.#life, this.#requireContainer(idOrName)),
    );
  }

  // --- attachments ---------------------------------------------------------------

  /**
   * Connects a container to a network (`docker network connect`). For a
   * running container: helper `AttachContainer` → forwarder `AttachNetwork`
   * (IP, prefix and gateway from the helper; the default route by Docker's
   * rule, default-route.ts) → relay → DNS snapshots to every running container on the
   * network. Any failure rolls back every step. For a stopped container the
   * attachment is only recorded and comes up at {@link containerStarted}.
   */
  connect(
    container: string,
    networkRef: string,
    options: ConnectOptions = {},
  ): Promise<AttachmentInfo> {
    return this.#exclusive(async () => {
      if (!this.#p.state.findNetwork(networkRef)) await this.#pullOverlays();
      return this.#attachments.connect(
        this.#requireContainer(container),
        this.#requireNetwork(networkRef),
        options,
      );
    });
  }

  /**
   * Disconnects a container from a network (`docker network disconnect`):
   * relay, forwarder device, helper port and data port go, and DNS snapshots
   * are updated. If the helper cannot be reached the attachment stays in
   * state `detaching` and the next call or {@link reconcile} finishes it.
   */
  disconnect(container: string, networkRef: string): Promise<void> {
    return this.#exclusive(async () => {
      const c = this.#requireContainer(container);
      const n = this.#requireNetwork(networkRef);
      await this.#publisher.release(c, n.id);
      await this.#attachments.disconnect(c, n);
    });
  }

  /** Every attachment with its relay counters. */
  async listAttachments(): Promise<AttachmentInfo[]> {
    this.#requireOpen();
    return this.#p.state.listAttachments().map((a) => ({
      ...this.#attachments.info(a),
      ports: this.#publisher.bindings(a.containerId, a.networkId),
    }));
  }

  /** Where each live attachment of `container` dropped frames (drops.ts), by network id. */
  async attachmentDrops(container: string): Promise<Map<string, AttachmentDrops>> {
    this.#requireOpen();
    return readAttachmentDrops(this.#p, this.#requireContainer(container));
  }

  // --- published ports -----------------------------------------------------------

  /**
   * Publishes ports of a container (`docker run -p`; Docker's `-p` syntax,
   * one value per spec) on its first non-internal network: a host listener
   * and the helper's load balancer each. All or nothing; a stopped container
   * publishes at its next start. Released on stop, disconnect and removal.
   */
  publish(container: string, specs: string[]): Promise<PublishedPort[]> {
    return this.#exclusive(async () => {
      const requests = parsePortSpecs(specs);
      return this.#publisher.publish(this.#requireContainer(container), requests);
    });
  }

  /** A container's published ports (`docker port NAME [PORT[/PROTO]]`); NO_PUBLIC_PORT when a filter matches none. */
  async ports(container: string, filter?: string): Promise<PublishedPort[]> {
    this.#requireOpen();
    return this.#publisher.find(this.#requireContainer(container), filter);
  }

  // --- reconciliation ------------------------------------------------------------

  /**
   * Makes the helper and the VMs match the persisted state, after a daemon or
   * helper restart: replays CreateBridge for every network and AttachContainer
   * / AttachNetwork for every attachment of a running container (both
   * idempotent), re-dials missing relays, rolls back half-done connects and
   * finishes half-done disconnects, removes the helper's networks and
   * endpoints that the state does not know, pushes DNS snapshots, and
   * brings published ports back (listeners and load balancers).
   */
  reconcile(): Promise<ReconcileReport> {
    return this.#exclusive(async () => {
      await this.#cluster?.pull();
      const report = await reconcile(this.#p, this.#attachments);
      await this.#publisher.reconcile();
      return report;
    });
  }

  /** The container's forwarder restarted (its launcher says so): re-applies its attachments now. */
  forwarderRestarted(idOrName: string): Promise<void> {
    const id = this.#requireContainer(idOrName).id;
    return this.#exclusive(() => fwatch.reapplyContainer(this.#p, this.#attachments, id));
  }

  /** What the forwarder watch last observed of each running container's forwarder. */
  forwarderHealth(): fwatch.ForwarderObservation[] {
    return this.#forwarderWatch?.observations() ?? [];
  }

  /** Stops the health watch, closes every relay and client and the state store. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    this.#forwarderWatch?.stop();
    this.#cluster?.stop();
    await this.#queue.catch(() => undefined);
    const { bridge, forwarders, helper, state } = this.#p;
    await this.#publisher.close();
    bridge.close();
    await forwarders.close();
    await helper.close();
    state.close();
  }

  // --- internals -------------------------------------------------------------------

  /** Runs `fn` after every call queued before it: one mutation at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(errors.closed());
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** In a cluster, the overlay networks other hosts made into the state (overlay.ts); errors ignored. */
  async #pullOverlays(): Promise<void> {
    await this.#cluster?.pull().catch(() => undefined);
  }

  #syncOverlays(): Promise<void> {
    this.#requireOpen();
    return this.#cluster ? this.#exclusive(() => this.#pullOverlays()) : Promise.resolve();
  }

  /** Reads need the state store: after {@link close} they fail with CLOSED too. */
  #requireOpen(): void {
    if (this.#closed) throw errors.closed();
  }

  #requireNetwork(idOrName: string): NetworkRecord {
    checkRef('network', idOrName);
    const n = this.#p.state.findNetwork(idOrName);
    if (!n) throw errors.networkNotFound(idOrName);
    return n;
  }

  #requireContainer(idOrName: string): ContainerRecord {
    checkRef('container', idOrName);
    const c = this.#p.state.findContainer(idOrName);
    if (!c) throw errors.containerNotFound(idOrName);
    return c;
  }
}
