/**
 * OvsNetworkBackend: the API a container runtime's daemon embeds to give its
 * containers Docker networks on the helper VM's OVN. It owns the desired
 * state (SQLite), drives the helper's NetworkControl and each container's
 * TAPForwarder, runs one relay per attachment through the NetworkBridge, and
 * speaks Docker's semantics and error messages.
 *
 * Every mutating call is serialised; each writes its intent to the state
 * store before touching a VM and rolls back what it did when a step fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Logger, silentLogger } from '@arca-net/log';
import type { network, tapforwarder } from '@arca-net/proto';
import { formatVmEndpoint, parseVmEndpoint, type VmEndpoint } from '@arca-net/vsock';
import { ClientError, Status } from 'nice-grpc';
import { type LinkCounters, NetworkBridge, type NetworkBridgeOptions } from './bridge.js';
import {
  type ClientOptions,
  connectNetworkControl,
  connectTapForwarder,
  type NetworkControlClient,
  type ServiceConnection,
  type TapForwarderClient,
} from './clients.js';
import { errors, NetworkBackendError } from './errors.js';
import { checkStaticIp, nextFreeIp, planNetworkAddressing, prefixLength } from './ipam.js';
import { normalizeMac, stableMac } from './mac.js';
import { PortAllocator } from './ports.js';
import {
  type AttachmentRecord,
  type ContainerRecord,
  type NetworkRecord,
  StateStore,
} from './state.js';

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
}

/** What `createNetwork` accepts (`docker network create`). */
export interface CreateNetworkOptions {
  name: string;
  /** IPv4 CIDR; default: the first free Docker default pool. */
  subnet?: string;
  /** Default: the subnet's first host address. */
  gateway?: string;
  /** CIDR inside the subnet from which container addresses are allocated. */
  ipRange?: string;
  /** No egress and no published ports; DNS still works. */
  internal?: boolean;
  /** 0 / absent = 1500. `options['com.docker.network.driver.mtu']` is honoured too. */
  mtu?: number;
  labels?: Record<string, string>;
  /** Driver options, stored for inspect. */
  options?: Record<string, string>;
}

/** One endpoint in {@link NetworkInspect.Containers}, as `docker network inspect` shows it. */
export interface NetworkEndpointInspect {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** `ip/prefix`. */
  IPv4Address: string;
  IPv6Address: string;
}

/**
 * A network exactly as Docker 20.10's `docker network inspect` shows it.
 * Subnet and gateway are in `IPAM.Config[0]`; aliases and devices of the
 * endpoints are in {@link AttachmentInfo}.
 */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge';
  EnableIPv6: false;
  IPAM: {
    Driver: 'default';
    Options: Record<string, string>;
    Config: Array<{ Subnet: string; Gateway: string; IPRange?: string }>;
  };
  Internal: boolean;
  Attachable: false;
  Ingress: false;
  ConfigFrom: { Network: string };
  ConfigOnly: false;
  /** Running containers on the network, keyed by container id. */
  Containers: Record<string, NetworkEndpointInspect>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A container as the runtime registers it. */
export interface ContainerSpec {
  /** Full container id (64 hex in Docker). */
  id: string;
  /** Container name (also its DNS name on every network). */
  name: string;
  /** How the host reaches the container VM (TAPForwarder on 5555, data ports P). */
  endpoint: VmEndpoint;
  /** Whether the container is running now; absent = keep what the state says (new: false). */
  running?: boolean;
}

/** Options of `connect` (`docker network connect`). */
export interface ConnectOptions {
  /** Static IPv4 address (`--ip`). */
  ip?: string;
  /** Extra DNS names on this network (`--alias`). */
  aliases?: string[];
  /** Unicast MAC; default: stable per (container, network). */
  mac?: string;
}

/** One attachment as the backend reports it. */
export interface AttachmentInfo {
  containerId: string;
  containerName: string;
  networkId: string;
  networkName: string;
  device: string;
  /** Container-side data port, null while the container is stopped. */
  port: number | null;
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  aliases: string[];
  status: AttachmentRecord['status'];
  /** Relay counters, when a relay exists. */
  relay?: LinkCounters;
}

/** What {@link OvsNetworkBackend.reconcile} did. */
export interface ReconcileReport {
  networks: number;
  restored: number;
  rolledBack: number;
  orphansRemoved: number;
  failures: Array<{ object: string; error: string }>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const CONTAINER_ID_RE = /^[0-9a-f]{64}$/;
const ALIAS_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
const MTU_OPTION = 'com.docker.network.driver.mtu';

const linkKey = (containerId: string, networkId: string) => `${containerId}/${networkId}`;

function isGrpc(err: unknown, ...codes: Status[]): boolean {
  return err instanceof ClientError && codes.includes(err.code);
}

function explain(err: unknown): string {
  if (err instanceof ClientError) return `${Status[err.code]}: ${err.details}`;
  return err instanceof Error ? err.message : String(err);
}

/** Maps a helper call failure to a domain error (gRPC status → kind in one place). */
function helperError(what: string, err: unknown): NetworkBackendError {
  if (err instanceof NetworkBackendError) return err;
  if (isGrpc(err, Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED)) {
    return errors.helperUnavailable(`${what}: ${explain(err)}`, err);
  }
  return errors.helperFailed(`${what}: ${explain(err)}`, err);
}

function forwarderError(container: string, what: string, err: unknown): NetworkBackendError {
  if (err instanceof NetworkBackendError) return err;
  if (isGrpc(err, Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED)) {
    return errors.forwarderUnavailable(container, `${what}: ${explain(err)}`, err);
  }
  return errors.forwarderFailed(container, `${what}: ${explain(err)}`, err);
}

/** Throws when an old-style response says `success = false` despite an OK status. */
function checkSuccess(response: { success: boolean; error: string }, fail: (msg: string) => Error) {
  if (!response.success) throw fail(response.error || 'failed without an error message');
}

/** The embeddable network backend. Create with {@link OvsNetworkBackend.open}; always {@link close}. */
export class OvsNetworkBackend {
  readonly #state: StateStore;
  readonly #helperEndpoint: VmEndpoint;
  readonly #helperConn: ServiceConnection<NetworkControlClient>;
  readonly #bridge: NetworkBridge;
  readonly #ports: PortAllocator;
  readonly #log: Logger;
  readonly #clientOptions: ClientOptions;
  readonly #dnsUpstreams: string[];
  /** Endpoints of containers registered in this process (needed for `fd` endpoints). */
  readonly #endpoints = new Map<string, VmEndpoint>();
  readonly #forwarders = new Map<
    string,
    { endpoint: VmEndpoint; conn: Promise<ServiceConnection<TapForwarderClient>> }
  >();
  #queue: Promise<unknown> = Promise.resolve();
  #watch?: NodeJS.Timeout;
  #helperUp = true;
  #closed = false;

  private constructor(
    options: OvsNetworkBackendOptions,
    state: StateStore,
    helperConn: ServiceConnection<NetworkControlClient>,
  ) {
    this.#state = state;
    this.#helperEndpoint = options.helper;
    this.#helperConn = helperConn;
    this.#log = (options.logger ?? silentLogger).child({ component: 'backend' });
    this.#clientOptions = options.client ?? {};
    this.#dnsUpstreams = options.dnsUpstreams ?? [];
    this.#bridge = new NetworkBridge({
      ...options.bridge,
      logger: options.bridge?.logger ?? options.logger ?? silentLogger,
    });
    this.#ports = new PortAllocator(
      state.listAttachments().flatMap((a) => (a.port === null ? [] : [a.port])),
    );
    for (const c of state.listContainers()) {
      if (c.endpoint) this.#endpoints.set(c.id, parseVmEndpoint(c.endpoint));
    }
  }

  /**
   * Opens the state store and the helper's client. Nothing is dialled yet:
   * register the runtime's containers (for `fd` endpoints) and then call
   * {@link reconcile} to bring persisted attachments back after a restart.
   */
  static async open(options: OvsNetworkBackendOptions): Promise<OvsNetworkBackend> {
    const state = StateStore.open(options.stateFile);
    let helperConn: ServiceConnection<NetworkControlClient>;
    try {
      helperConn = await connectNetworkControl(options.helper, options.client);
    } catch (err) {
      state.close();
      throw err;
    }
    const backend = new OvsNetworkBackend(options, state, helperConn);
    const watchMs = options.helperWatchMs ?? 2000;
    if (watchMs > 0) backend.#startWatch(watchMs);
    return backend;
  }

  // --- networks ----------------------------------------------------------------

  /**
   * Creates a network (`docker network create`): validates name and
   * addressing with Docker's rules and errors, stores it, then creates the
   * helper's logical switch. Returns the network as inspect shows it.
   */
  createNetwork(options: CreateNetworkOptions): Promise<NetworkInspect> {
    return this.#exclusive(async () => {
      const { name } = options;
      if (!NAME_RE.test(name)) {
        throw errors.invalidName(
          name,
          'use 1-63 characters of [A-Za-z0-9_.-], starting alphanumeric',
        );
      }
      if (this.#state.findNetwork(name)?.name === name) throw errors.networkNameExists(name);
      const addressing = planNetworkAddressing(
        options,
        this.#state.listNetworks().map((n) => n.subnet),
      );
      const mtuText = options.options?.[MTU_OPTION];
      const mtu = options.mtu ?? (mtuText === undefined ? 0 : Number(mtuText));
      if (!Number.isInteger(mtu) || (mtu !== 0 && (mtu < 68 || mtu > 65535))) {
        throw errors.invalidOption(`invalid MTU ${mtuText ?? options.mtu}: must be 68..65535`);
      }
      const record: NetworkRecord = {
        id: randomBytes(32).toString('hex'),
        name,
        ...addressing,
        internal: options.internal ?? false,
        mtu,
        labels: { ...options.labels },
        options: { ...options.options },
        created: new Date().toISOString(),
      };
      this.#state.insertNetwork(record);
      try {
        await this.#createBridge(record);
      } catch (err) {
        this.#state.deleteNetwork(record.id);
        await this.#helper()
          .deleteBridge({ networkId: record.id })
          .catch(() => undefined);
        throw err;
      }
      this.#log.info({ network: name, id: record.id, subnet: record.subnet }, 'network created');
      return this.#inspect(record);
    });
  }

  /**
   * Removes a network (`docker network rm`). Refused with Docker's "has
   * active endpoints" while any container (running or stopped) is connected.
   */
  removeNetwork(idOrName: string): Promise<void> {
    return this.#exclusive(async () => {
      const n = this.#requireNetwork(idOrName);
      if (this.#state.attachmentsOfNetwork(n.id).length > 0) {
        throw errors.networkHasEndpoints(n.name, n.id);
      }
      try {
        const response = await this.#helper().deleteBridge({ networkId: n.id });
        checkSuccess(response, (m) => errors.helperFailed(`DeleteBridge ${n.name}: ${m}`));
      } catch (err) {
        if (!isGrpc(err, Status.NOT_FOUND)) throw helperError(`DeleteBridge ${n.name}`, err);
      }
      this.#state.deleteNetwork(n.id);
      this.#log.info({ network: n.name, id: n.id }, 'network removed');
    });
  }

  /** Every network, as inspect shows it (`docker network ls`). */
  async listNetworks(): Promise<NetworkInspect[]> {
    return this.#state.listNetworks().map((n) => this.#inspect(n));
  }

  /** One network by id, name or unique id prefix (`docker network inspect`). */
  async inspectNetwork(idOrName: string): Promise<NetworkInspect> {
    return this.#inspect(this.#requireNetwork(idOrName));
  }

  // --- containers --------------------------------------------------------------

  /**
   * Registers a container (at create time, and again after a daemon restart
   * for `fd` endpoints). Names are unique like Docker's.
   */
  registerContainer(spec: ContainerSpec): Promise<void> {
    return this.#exclusive(async () => {
      if (!CONTAINER_ID_RE.test(spec.id)) {
        throw errors.invalidOption(
          `invalid container id ${JSON.stringify(spec.id)}: expected 64 hex digits`,
        );
      }
      if (!NAME_RE.test(spec.name)) {
        throw errors.invalidOption(`invalid container name ${JSON.stringify(spec.name)}`);
      }
      const clash = this.#state.findContainer(spec.name);
      if (clash && clash.id !== spec.id && clash.name === spec.name) {
        throw errors.containerExists(spec.name, clash.id);
      }
      const existing = this.#state.getContainer(spec.id);
      this.#state.upsertContainer({
        id: spec.id,
        name: spec.name,
        endpoint: spec.endpoint.kind === 'fd' ? null : formatVmEndpoint(spec.endpoint),
        running: spec.running ?? existing?.running ?? false,
      });
      this.#setEndpoint(spec.id, spec.endpoint);
    });
  }

  /** Forgets a container (`docker rm`): removes its attachments everywhere, then its record. */
  unregisterContainer(idOrName: string): Promise<void> {
    return this.#exclusive(async () => {
      const c = this.#requireContainer(idOrName);
      for (const a of this.#state.attachmentsOfContainer(c.id)) {
        await this.#teardown(c, a, { forwarder: c.running });
        this.#state.deleteAttachment(c.id, a.networkId);
        if (a.port !== null) this.#ports.release(a.port);
      }
      this.#state.deleteContainer(c.id);
      await this.#dropForwarder(c.id);
      this.#endpoints.delete(c.id);
    });
  }

  /**
   * The container's VM is up (`docker start`): restores every network it is
   * connected to with the same device, IP and MAC. `endpoint` replaces the
   * registered one (a restarted VM may have a new CID). Rejects with the
   * first failure after trying every network; the failed ones stay stopped.
   */
  containerStarted(idOrName: string, endpoint?: VmEndpoint): Promise<void> {
    return this.#exclusive(async () => {
      const c = this.#requireContainer(idOrName);
      if (endpoint) {
        this.#setEndpoint(c.id, endpoint);
        if (endpoint.kind !== 'fd') {
          this.#state.upsertContainer({ ...c, endpoint: formatVmEndpoint(endpoint) });
        }
      }
      await this.#dropForwarder(c.id);
      this.#state.setContainerRunning(c.id, true);
      const running = { ...c, running: true };
      const failures: unknown[] = [];
      const networks = new Set<string>();
      for (const a of this.#state.attachmentsOfContainer(c.id)) {
        if (a.status === 'ready') continue;
        try {
          await this.#restore(running, a);
          networks.add(a.networkId);
        } catch (err) {
          failures.push(err);
          this.#log.error({ container: c.name, network: a.networkId, err }, 'restore failed');
        }
      }
      await this.#pushDnsForNetworks(networks);
      if (failures.length > 0) throw failures[0];
    });
  }

  /**
   * The container's VM stopped (`docker stop`, crash): closes its relays,
   * detaches it in the helper and releases its ports. IP, MAC and device are
   * kept for {@link containerStarted}.
   */
  containerStopped(idOrName: string): Promise<void> {
    return this.#exclusive(async () => {
      const c = this.#requireContainer(idOrName);
      this.#state.setContainerRunning(c.id, false);
      const networks = new Set<string>();
      for (const a of this.#state.attachmentsOfContainer(c.id)) {
        if (a.port === null && a.status === 'stopped') continue;
        await this.#teardown(c, a, { forwarder: false });
        this.#state.updateAttachment(c.id, a.networkId, { status: 'stopped', port: null });
        if (a.port !== null) this.#ports.release(a.port);
        networks.add(a.networkId);
      }
      await this.#dropForwarder(c.id);
      await this.#pushDnsForNetworks(networks);
    });
  }

  // --- attachments ---------------------------------------------------------------

  /**
   * Connects a container to a network (`docker network connect`). For a
   * running container: helper `AttachContainer` → forwarder `AttachNetwork`
   * (IP, prefix and gateway from the helper; default route on the container's
   * first network) → relay → DNS snapshots to every running container on the
   * network. Any failure rolls back every step. For a stopped container the
   * attachment is only recorded and comes up at {@link containerStarted}.
   */
  connect(
    container: string,
    networkRef: string,
    options: ConnectOptions = {},
  ): Promise<AttachmentInfo> {
    return this.#exclusive(async () => {
      const c = this.#requireContainer(container);
      const n = this.#requireNetwork(networkRef);
      if (this.#state.getAttachment(c.id, n.id)) throw errors.endpointExists(c.name, n.name);
      const aliases = [...new Set(options.aliases ?? [])];
      for (const alias of aliases) {
        if (!ALIAS_RE.test(alias))
          throw errors.invalidOption(`invalid alias ${JSON.stringify(alias)}`);
      }
      const peers = this.#state.attachmentsOfNetwork(n.id);
      const mac = options.mac ? normalizeMac(options.mac) : stableMac(c.id, n.id);
      if (peers.some((p) => p.mac === mac)) {
        throw errors.invalidMac(mac, `already in use on network ${n.name}`);
      }
      const taken = new Set(peers.map((p) => p.ip));
      const ip =
        options.ip !== undefined && options.ip !== ''
          ? checkStaticIp(options.ip, n, taken)
          : nextFreeIp(n, taken, n.name);
      const devices = new Set(this.#state.attachmentsOfContainer(c.id).map((a) => a.device));
      let index = 0;
      while (devices.has(`eth${index}`)) index++;
      const base = {
        containerId: c.id,
        networkId: n.id,
        device: `eth${index}`,
        ip,
        prefixLength: prefixLength(n.subnet),
        gateway: n.gateway,
        mac,
        aliases,
      };
      if (!c.running) {
        const record = this.#state.insertAttachment({ ...base, port: null, status: 'stopped' });
        return this.#info(record);
      }
      const port = this.#ports.allocate();
      let record: AttachmentRecord;
      try {
        record = this.#state.insertAttachment({ ...base, port, status: 'pending' });
      } catch (err) {
        this.#ports.release(port);
        throw err;
      }
      try {
        record = await this.#bringUp(c, n, record);
      } catch (err) {
        this.#state.deleteAttachment(c.id, n.id);
        this.#ports.release(port);
        throw err;
      }
      try {
        await this.#pushDns(c, true);
      } catch (err) {
        await this.#teardown(c, record, { forwarder: true });
        this.#state.deleteAttachment(c.id, n.id);
        this.#ports.release(port);
        throw err;
      }
      await this.#pushDnsForNetworks(new Set([n.id]), c.id);
      this.#log.info(
        { container: c.name, network: n.name, ip: record.ip, port, device: record.device },
        'connected',
      );
      return this.#info(record);
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
      const a = this.#state.getAttachment(c.id, n.id);
      if (!a) throw errors.notConnected(c.name, n.name);
      if (a.status !== 'stopped' || a.port !== null) {
        this.#state.updateAttachment(c.id, n.id, { status: 'detaching' });
        await this.#teardown(c, a, { forwarder: c.running, strict: true });
      }
      this.#state.deleteAttachment(c.id, n.id);
      if (a.port !== null) this.#ports.release(a.port);
      if (c.running) await this.#pushDns(c, false);
      await this.#pushDnsForNetworks(new Set([n.id]), c.id);
      this.#log.info({ container: c.name, network: n.name }, 'disconnected');
    });
  }

  /** Every attachment with its relay counters. */
  async listAttachments(): Promise<AttachmentInfo[]> {
    return this.#state.listAttachments().map((a) => this.#info(a));
  }

  // --- reconciliation ------------------------------------------------------------

  /**
   * Makes the helper and the VMs match the persisted state, after a daemon or
   * helper restart: replays CreateBridge for every network and AttachContainer
   * / AttachNetwork for every attachment of a running container (both
   * idempotent), re-dials missing relays, rolls back half-done connects and
   * finishes half-done disconnects, removes the helper's networks and
   * endpoints that the state does not know, and pushes DNS snapshots.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.#exclusive(() => this.#reconcile());
  }

  /** Stops the health watch, closes every relay and client and the state store. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watch) clearInterval(this.#watch);
    await this.#queue.catch(() => undefined);
    this.#bridge.close();
    await Promise.all([...this.#forwarders.keys()].map((id) => this.#dropForwarder(id)));
    await this.#helperConn.close();
    this.#state.close();
  }

  // --- internals -------------------------------------------------------------------

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(errors.closed());
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #helper(): NetworkControlClient {
    return this.#helperConn.client;
  }

  #requireNetwork(idOrName: string): NetworkRecord {
    const n = this.#state.findNetwork(idOrName);
    if (!n) throw errors.networkNotFound(idOrName);
    return n;
  }

  #requireContainer(idOrName: string): ContainerRecord {
    const c = this.#state.findContainer(idOrName);
    if (!c) throw errors.containerNotFound(idOrName);
    return c;
  }

  #setEndpoint(containerId: string, endpoint: VmEndpoint): void {
    this.#endpoints.set(containerId, endpoint);
  }

  #endpointOf(c: ContainerRecord): VmEndpoint {
    const endpoint = this.#endpoints.get(c.id);
    if (!endpoint) {
      throw errors.forwarderUnavailable(
        c.name,
        'no VM endpoint registered in this process (call registerContainer)',
      );
    }
    return endpoint;
  }

  async #forwarder(c: ContainerRecord): Promise<TapForwarderClient> {
    const endpoint = this.#endpointOf(c);
    let entry = this.#forwarders.get(c.id);
    if (!entry || entry.endpoint !== endpoint) {
      if (entry) await this.#dropForwarder(c.id);
      entry = { endpoint, conn: connectTapForwarder(endpoint, this.#clientOptions) };
      this.#forwarders.set(c.id, entry);
      entry.conn.catch(() => this.#forwarders.delete(c.id));
    }
    try {
      return (await entry.conn).client;
    } catch (err) {
      throw forwarderError(c.name, 'cannot open the control channel', err);
    }
  }

  async #dropForwarder(containerId: string): Promise<void> {
    const entry = this.#forwarders.get(containerId);
    if (!entry) return;
    this.#forwarders.delete(containerId);
    await entry.conn.then((conn) => conn.close()).catch(() => undefined);
  }

  async #createBridge(n: NetworkRecord): Promise<void> {
    try {
      const response = await this.#helper().createBridge({
        networkId: n.id,
        subnet: n.subnet,
        gateway: n.gateway,
        name: n.name,
        internal: n.internal,
        ipRange: n.ipRange,
        mtu: n.mtu,
        labels: n.labels,
      });
      checkSuccess(response, (m) => errors.helperFailed(`CreateBridge ${n.name}: ${m}`));
    } catch (err) {
      if (isGrpc(err, Status.ALREADY_EXISTS, Status.FAILED_PRECONDITION)) {
        throw errors.poolOverlap();
      }
      throw helperError(`CreateBridge ${n.name}`, err);
    }
  }

  #isDefault(c: ContainerRecord, a: AttachmentRecord): boolean {
    const first = this.#state.attachmentsOfContainer(c.id)[0];
    return first?.networkId === a.networkId;
  }

  /**
   * Helper attach → forwarder attach → relay for one attachment whose port is
   * set; rolls its own steps back on failure. Marks the row `ready`.
   */
  async #bringUp(
    c: ContainerRecord,
    n: NetworkRecord,
    a: AttachmentRecord,
    mode: 'new' | 'replay' = 'new',
  ): Promise<AttachmentRecord> {
    const port = a.port;
    if (port === null) throw new Error(`attachment ${c.id}/${n.id} has no port`);
    const undo: Array<() => Promise<unknown> | unknown> = [];
    const rollback = mode === 'new';
    try {
      // Undo steps are registered before their call: a call that timed out may still have happened.
      undo.push(() => this.#helper().detachContainer({ containerId: c.id, networkId: n.id }));
      let attached: network.AttachContainerResponse;
      try {
        attached = await this.#helper().attachContainer({
          containerId: c.id,
          networkId: n.id,
          ipAddress: a.ip,
          macAddress: a.mac,
          hostname: c.name,
          aliases: a.aliases,
          vsockPort: port,
        });
        checkSuccess(attached, (m) =>
          errors.helperFailed(`AttachContainer ${c.name} to ${n.name}: ${m}`),
        );
      } catch (err) {
        if (isGrpc(err, Status.ALREADY_EXISTS)) throw errors.addressInUse();
        throw helperError(`AttachContainer ${c.name} to ${n.name}`, err);
      }
      if (attached.macAddress && attached.macAddress.toLowerCase() !== a.mac) {
        throw errors.helperFailed(
          `AttachContainer ${c.name} to ${n.name}: helper set MAC ${attached.macAddress}, not ${a.mac}`,
        );
      }
      const record = this.#state.updateAttachment(c.id, n.id, {
        ip: attached.ipAddress || a.ip,
        prefixLength: attached.prefixLength || a.prefixLength,
        gateway: attached.gateway || a.gateway,
      });

      const forwarder = await this.#forwarder(c);
      undo.push(() => forwarder.detachNetwork({ device: record.device }));
      let set: tapforwarder.AttachNetworkResponse;
      try {
        set = await forwarder.attachNetwork({
          device: record.device,
          vsockPort: port,
          ipAddress: record.ip,
          gateway: record.gateway,
          netmask: record.prefixLength,
          macAddress: record.mac,
          defaultRoute: !n.internal && this.#isDefault(c, record),
          mtu: n.mtu,
        });
        checkSuccess(set, (m) =>
          errors.forwarderFailed(c.name, `AttachNetwork ${record.device}: ${m}`),
        );
      } catch (err) {
        throw forwarderError(c.name, `AttachNetwork ${record.device}`, err);
      }
      if (set.macAddress && set.macAddress.toLowerCase() !== record.mac) {
        throw errors.forwarderFailed(
          c.name,
          `AttachNetwork ${record.device}: forwarder set MAC ${set.macAddress}, not ${record.mac}`,
        );
      }

      const key = linkKey(c.id, n.id);
      if (mode === 'new' || !this.#bridge.has(key)) {
        await this.#bridge.add({
          key,
          port,
          container: this.#endpointOf(c),
          helper: this.#helperEndpoint,
        });
        undo.push(() => this.#bridge.remove(key));
      }
      return this.#state.updateAttachment(c.id, n.id, { status: 'ready' });
    } catch (err) {
      if (!rollback) throw err;
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (undoErr) {
          this.#log.warn(
            { container: c.name, network: n.name, err: undoErr },
            'rollback step failed',
          );
        }
      }
      throw err;
    }
  }

  /** Brings a stopped attachment of a running container back with a fresh port. */
  async #restore(c: ContainerRecord, a: AttachmentRecord): Promise<void> {
    const n = this.#state.getNetwork(a.networkId);
    if (!n) throw errors.networkNotFound(a.networkId);
    const port = a.port ?? this.#ports.allocate();
    const record = this.#state.updateAttachment(c.id, n.id, { port, status: 'stopped' });
    try {
      await this.#bringUp(c, n, record);
    } catch (err) {
      this.#state.updateAttachment(c.id, n.id, { port: null, status: 'stopped' });
      this.#ports.release(port);
      throw err;
    }
  }

  /**
   * Removes an attachment's relay, forwarder device (when asked) and helper
   * port. With `strict`, a helper failure other than NOT_FOUND is thrown
   * (leaving the row as it is); otherwise it is logged.
   */
  async #teardown(
    c: ContainerRecord,
    a: AttachmentRecord,
    how: { forwarder: boolean; strict?: boolean },
  ): Promise<void> {
    this.#bridge.remove(linkKey(c.id, a.networkId));
    if (how.forwarder && this.#endpoints.has(c.id)) {
      try {
        const forwarder = await this.#forwarder(c);
        await forwarder.detachNetwork({ device: a.device });
      } catch (err) {
        if (!isGrpc(err, Status.NOT_FOUND)) {
          this.#log.warn({ container: c.name, device: a.device, err }, 'forwarder detach failed');
        }
      }
    }
    try {
      await this.#helper().detachContainer({ containerId: c.id, networkId: a.networkId });
    } catch (err) {
      if (isGrpc(err, Status.NOT_FOUND)) return;
      const mapped = helperError(`DetachContainer ${c.name}`, err);
      if (how.strict) throw mapped;
      this.#log.warn({ container: c.name, network: a.networkId, err }, 'helper detach failed');
    }
  }

  /** The DNS snapshot of one container: every network it is ready on, with the running peers there. */
  #dnsSnapshot(containerId: string): tapforwarder.UpdateDNSMappingsRequest {
    const networks: Record<string, tapforwarder.NetworkPeers> = {};
    for (const mine of this.#state.attachmentsOfContainer(containerId)) {
      if (mine.status !== 'ready') continue;
      const n = this.#state.getNetwork(mine.networkId);
      if (!n) continue;
      const containers: tapforwarder.ContainerDNSInfo[] = [];
      for (const peer of this.#state.attachmentsOfNetwork(n.id)) {
        if (peer.status !== 'ready') continue;
        const pc = this.#state.getContainer(peer.containerId);
        if (!pc) continue;
        containers.push({ name: pc.name, id: pc.id, ipAddress: peer.ip, aliases: peer.aliases });
      }
      networks[n.name] = { containers };
    }
    return { networks, upstreamServers: this.#dnsUpstreams };
  }

  /** Pushes a container's DNS snapshot; with `strict` a failure is thrown, else logged. */
  async #pushDns(c: ContainerRecord, strict: boolean): Promise<void> {
    try {
      const forwarder = await this.#forwarder(c);
      const response = await forwarder.updateDNSMappings(this.#dnsSnapshot(c.id));
      checkSuccess(response, (m) => errors.forwarderFailed(c.name, `UpdateDNSMappings: ${m}`));
    } catch (err) {
      if (strict) throw forwarderError(c.name, 'UpdateDNSMappings', err);
      this.#log.warn({ container: c.name, err }, 'DNS snapshot push failed');
    }
  }

  /** Pushes snapshots to every running container ready on any of `networkIds` (except `skip`). */
  async #pushDnsForNetworks(networkIds: ReadonlySet<string>, skip?: string): Promise<void> {
    const targets = new Set<string>();
    for (const id of networkIds) {
      for (const a of this.#state.attachmentsOfNetwork(id)) {
        if (a.status === 'ready' && a.containerId !== skip) targets.add(a.containerId);
      }
    }
    await Promise.all(
      [...targets].map(async (id) => {
        const c = this.#state.getContainer(id);
        if (c?.running && this.#endpoints.has(id)) await this.#pushDns(c, false);
      }),
    );
  }

  async #reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      networks: 0,
      restored: 0,
      rolledBack: 0,
      orphansRemoved: 0,
      failures: [],
    };
    const fail = (object: string, err: unknown) => {
      report.failures.push({ object, error: explain(err) });
      this.#log.error({ object, err }, 'reconcile step failed');
    };

    let bridges: network.BridgeInfo[];
    try {
      const listed = await this.#helper().listBridges({});
      bridges = listed.bridges;
    } catch (err) {
      throw helperError('ListBridges', err);
    }
    const networks = new Map(this.#state.listNetworks().map((n) => [n.id, n]));

    // Orphans: networks and endpoints the helper has but the state does not want.
    const wanted = new Set(
      this.#state
        .listAttachments()
        .filter((a) => a.status === 'ready' || (a.status === 'stopped' && a.port !== null))
        .map((a) => linkKey(a.containerId, a.networkId)),
    );
    for (const bridge of bridges) {
      const containerIds =
        bridge.endpoints.length > 0
          ? bridge.endpoints.map((e) => e.containerId)
          : bridge.containers;
      for (const containerId of containerIds) {
        if (networks.has(bridge.networkId) && wanted.has(linkKey(containerId, bridge.networkId))) {
          continue;
        }
        try {
          await this.#helper().detachContainer({ containerId, networkId: bridge.networkId });
          report.orphansRemoved++;
        } catch (err) {
          if (!isGrpc(err, Status.NOT_FOUND))
            fail(`endpoint ${containerId}/${bridge.networkId}`, err);
        }
      }
      if (!networks.has(bridge.networkId)) {
        try {
          await this.#helper().deleteBridge({ networkId: bridge.networkId });
          report.orphansRemoved++;
        } catch (err) {
          if (!isGrpc(err, Status.NOT_FOUND)) fail(`network ${bridge.networkId}`, err);
        }
      }
    }

    for (const n of networks.values()) {
      try {
        await this.#createBridge(n);
        report.networks++;
      } catch (err) {
        fail(`network ${n.name}`, err);
      }
    }

    const touched = new Set<string>();
    for (const a of this.#state.listAttachments()) {
      const c = this.#state.getContainer(a.containerId);
      const n = networks.get(a.networkId);
      if (!c || !n) continue;
      const object = `${c.name} on ${n.name}`;
      try {
        if (a.status === 'pending' || a.status === 'detaching') {
          await this.#teardown(c, a, { forwarder: c.running });
          this.#state.deleteAttachment(c.id, n.id);
          if (a.port !== null) this.#ports.release(a.port);
          report.rolledBack++;
          touched.add(n.id);
        } else if (!c.running || !this.#endpoints.has(c.id)) {
          if (a.port !== null) {
            await this.#teardown(c, a, { forwarder: false });
            this.#state.updateAttachment(c.id, n.id, { status: 'stopped', port: null });
            this.#ports.release(a.port);
            touched.add(n.id);
          }
        } else if (a.status === 'ready' && a.port !== null) {
          await this.#bringUp(c, n, a, 'replay');
          report.restored++;
          touched.add(n.id);
        } else {
          await this.#restore(c, a);
          report.restored++;
          touched.add(n.id);
        }
      } catch (err) {
        fail(object, err);
      }
    }
    await this.#pushDnsForNetworks(touched);
    this.#log.info(report, 'reconciled');
    return report;
  }

  /**
   * Polls the helper's GetHealth and reconciles when the helper is back after
   * being unreachable, or when its uptime went backwards: a helper VM that
   * restarted between two polls (and may have lost its disk) is caught too.
   */
  #startWatch(intervalMs: number): void {
    let busy = false;
    let lastUptime = -1;
    this.#watch = setInterval(() => {
      if (busy || this.#closed) return;
      busy = true;
      this.#helperConn.client
        .getHealth({}, { signal: AbortSignal.timeout(Math.max(intervalMs, 500)) })
        .then(
          (h) => Number(h.uptimeSeconds),
          () => undefined,
        )
        .then(async (uptime) => {
          const up = uptime !== undefined;
          const cameBack = up && !this.#helperUp;
          const restarted = up && uptime < lastUptime;
          this.#helperUp = up;
          if (up) lastUptime = uptime;
          if ((cameBack || restarted) && !this.#closed) {
            this.#log.info({ cameBack, restarted }, 'helper is back, reconciling');
            await this.reconcile().catch((err: unknown) => {
              this.#helperUp = false;
              this.#log.error({ err }, 'reconcile after helper restart failed');
            });
          }
        })
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    this.#watch.unref();
  }

  #info(a: AttachmentRecord): AttachmentInfo {
    const c = this.#state.getContainer(a.containerId);
    const n = this.#state.getNetwork(a.networkId);
    const relay = this.#bridge.counters(linkKey(a.containerId, a.networkId));
    return {
      containerId: a.containerId,
      containerName: c?.name ?? '',
      networkId: a.networkId,
      networkName: n?.name ?? '',
      device: a.device,
      port: a.port,
      ip: a.ip,
      prefixLength: a.prefixLength,
      gateway: a.gateway,
      mac: a.mac,
      aliases: a.aliases,
      status: a.status,
      ...(relay ? { relay } : {}),
    };
  }

  #inspect(n: NetworkRecord): NetworkInspect {
    const containers: Record<string, NetworkEndpointInspect> = {};
    for (const a of this.#state.attachmentsOfNetwork(n.id)) {
      if (a.status !== 'ready') continue;
      const c = this.#state.getContainer(a.containerId);
      if (!c) continue;
      containers[c.id] = {
        Name: c.name,
        EndpointID: createHash('sha256').update(`${c.id}\0${n.id}`).digest('hex'),
        MacAddress: a.mac,
        IPv4Address: `${a.ip}/${a.prefixLength}`,
        IPv6Address: '',
      };
    }
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: {
        Driver: 'default',
        Options: {},
        Config: [
          { Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) },
        ],
      },
      Internal: n.internal,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.options,
      Labels: n.labels,
    };
  }
}
