/**
 * The lab host's service: lab containers (namespaces + forwarders) on one
 * side, the embedded network backend on the other. Networks and attachments
 * pass through as the host's own types, and so do its errors; the lab's own
 * failures use the host's codes. `lab run` is "start the container VM,
 * register it, connect it", rolled back as a whole on failure.
 */

import { randomBytes } from 'node:crypto';
import {
  type CreateNetworkOptions,
  checkLength,
  errors,
  type ForwarderObservation,
  LIMITS,
  NetworkBackendError,
  type OffloadPreference,
  type OvsNetworkBackend,
  type PublishedPort,
  parseOffloadPreference,
  parsePortSpecs,
  quote,
} from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import type {
  ComponentHealth,
  ConnectBody,
  DisconnectBody,
  LabApi,
  LabContainer,
  LabHealth,
  PruneBody,
  PruneResult,
  RunBody,
} from '../api/routes.js';
import { CONTAINER_NAME, type LabContainerRecord, type LabContainers } from '../containers.js';
import { withDrops } from './drops.js';
import { forwarderRows } from './forwarder-supervisor.js';

/** What the lab host uses of `OvsNetworkBackend` (tests hand in fakes that throw its errors). */
export type LabNetworkBackend = Pick<
  OvsNetworkBackend,
  | 'createNetwork'
  | 'listNetworks'
  | 'inspectNetwork'
  | 'removeNetwork'
  | 'registerContainer'
  | 'unregisterContainer'
  | 'connect'
  | 'disconnect'
  | 'listAttachments'
  | 'containerStopped'
  | 'containerStarted'
  | 'publish'
  | 'ports'
> &
  Partial<Pick<OvsNetworkBackend, 'attachmentDrops'>>;

/** Docker's predefined networks: none can be created, removed or pruned by name. */
export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'];

/** The network `lab run` uses without `--network` (Docker's default bridge subnet). */
export const DEFAULT_NETWORK: CreateNetworkOptions = { name: 'bridge', subnet: '172.17.0.0/16' };

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw errors.invalidOption(`${what} must be a list of strings`);
  }
  return value as string[];
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw errors.invalidOption(`${what} must be a string`);
  return value;
}

function requiredString(value: unknown, what: string): string {
  const text = optionalString(value, what);
  if (text === undefined) throw errors.invalidOption(`${what} is required`);
  return text;
}

function stringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((v) => typeof v === 'string')
  ) {
    throw errors.invalidOption(`${what} must be an object of strings`);
  }
  return value as Record<string, string>;
}

/** Serialises operations on one key (a container name), so `run x` twice cannot race. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** What the lab host service is made of. */
export interface LabHostServiceOptions {
  containers: LabContainers;
  network: LabNetworkBackend;
  /** Rows of the helper's health (the controller's view of OVS and OVN). */
  helperHealth: () => Promise<ComponentHealth[]>;
  logger: Logger;
  /** Called once `shutdown` has been answered. */
  onShutdown: () => void;
  /** The host library's view of each running container's forwarder (its forwarder watch). */
  forwarderHealth?: () => ForwarderObservation[];
  /** Tells the host library that a container's forwarder was restarted (re-applies it). */
  forwarderRestarted?: (containerId: string) => Promise<void>;
}

/** {@link LabApi} over lab containers and a network backend. */
export class LabHostService implements LabApi {
  private readonly locks = new KeyedLock();
  private readonly containers: LabContainers;
  private readonly network: LabNetworkBackend;

  constructor(private readonly options: LabHostServiceOptions) {
    this.containers = options.containers;
    this.network = options.network;
  }

  async health(): Promise<LabHealth> {
    const components = await this.options.helperHealth().catch((error: unknown) => [
      {
        name: 'network backend',
        healthy: false,
        detail: error instanceof Error ? error.message : String(error),
      },
    ]);
    const list = this.containers.list();
    let running = 0;
    const wanted = list.filter((record) => !record.stopped).length;
    for (const record of list) if ((await this.containers.pid(record)) > 0) running++;
    components.push({
      name: 'containers',
      healthy: running === wanted,
      detail: `${running} of ${wanted} forwarders running (${list.length - wanted} stopped)`,
    });
    components.push(...forwarderRows(this.options.forwarderHealth?.() ?? []));
    return { healthy: components.every((c) => c.healthy), components };
  }

  listNetworks() {
    return this.network.listNetworks();
  }

  async createNetwork(body: CreateNetworkOptions) {
    const request: CreateNetworkOptions = { name: requiredString(body.name, 'name') };
    if (PREDEFINED_NETWORKS.includes(request.name)) {
      throw errors.predefinedNetwork(request.name, false);
    }
    const driver = optionalString(body.driver, 'driver');
    const subnets = stringList(body.subnets, 'subnets');
    if (driver) request.driver = driver;
    if (subnets) request.subnets = subnets;
    const subnet = optionalString(body.subnet, 'subnet');
    const gateway = optionalString(body.gateway, 'gateway');
    const ipRange = optionalString(body.ipRange, 'ipRange');
    const labels = stringMap(body.labels, 'labels');
    const options = stringMap(body.options, 'options');
    if (subnet) request.subnet = subnet;
    if (gateway) request.gateway = gateway;
    if (ipRange) request.ipRange = ipRange;
    if (body.internal === true) request.internal = true;
    if (body.mtu !== undefined) {
      if (typeof body.mtu !== 'number') throw errors.invalidOption('mtu must be a number');
      request.mtu = body.mtu;
    }
    if (body.internal !== undefined && typeof body.internal !== 'boolean') {
      throw errors.invalidOption(
        `internal must be true or false, not ${quote(String(body.internal))}`,
      );
    }
    if (labels) request.labels = labels;
    if (options) request.options = options;
    // The predefined bridge exists first, so its subnet is never taken by another network.
    await this.defaultNetwork();
    return this.locks.run('network', () => this.network.createNetwork(request));
  }

  inspectNetwork(ref: string) {
    return this.network.inspectNetwork(ref);
  }

  async removeNetwork(ref: string) {
    const name = PREDEFINED_NETWORKS.includes(ref)
      ? ref
      : (await this.network.inspectNetwork(ref)).Name;
    if (PREDEFINED_NETWORKS.includes(name)) throw errors.predefinedNetwork(name, true);
    return this.network.removeNetwork(ref);
  }

  async pruneNetworks(body: PruneBody): Promise<PruneResult> {
    const wanted = (stringList(body.labels, 'labels') ?? []).map((l) => l.split(/=(.*)/s));
    const deleted: string[] = [];
    for (const n of await this.network.listNetworks()) {
      if (PREDEFINED_NETWORKS.includes(n.Name) || Object.keys(n.Containers).length > 0) continue;
      const match = wanted.every(
        ([k = '', v]) => k in n.Labels && (v === undefined || n.Labels[k] === v),
      );
      if (!match) continue;
      try {
        await this.network.removeNetwork(n.Id);
        deleted.push(n.Name);
      } catch (error) {
        // A stopped container's endpoint keeps it (Docker's prune skips networks in use).
        this.options.logger.info({ network: n.Name, err: error }, 'prune skipped a network');
      }
    }
    return { deleted };
  }

  private record(ref: string): LabContainerRecord {
    const record = this.containers.find(ref);
    if (!record) throw errors.containerNotFound(ref);
    return record;
  }

  async connect(network: string, body: ConnectBody): Promise<LabContainer> {
    const record = this.record(requiredString(body.container, 'container'));
    const ip = optionalString(body.ip, 'ip');
    const mac = optionalString(body.mac, 'mac');
    const aliases = stringList(body.aliases, 'aliases');
    const gwPriority = body.gwPriority;
    if (gwPriority !== undefined && typeof gwPriority !== 'number') {
      throw errors.invalidOption('gwPriority must be a number');
    }
    const offload = offloadOption(body.offload);
    return this.locks.run(record.name, async () => {
      await this.network.connect(record.id, network, { ip, aliases, mac, gwPriority, offload });
      return this.view(record);
    });
  }

  async disconnect(network: string, body: DisconnectBody): Promise<LabContainer> {
    const record = this.record(requiredString(body.container, 'container'));
    return this.locks.run(record.name, async () => {
      await this.network.disconnect(record.id, network);
      return this.view(record);
    });
  }

  async listContainers(): Promise<LabContainer[]> {
    return Promise.all(this.containers.list().map((record) => this.view(record)));
  }

  async runContainer(body: RunBody): Promise<LabContainer> {
    const name = requiredString(body.name, 'name');
    checkLength('container name', name, LIMITS.ref);
    if (!CONTAINER_NAME.test(name)) {
      throw new NetworkBackendError(
        'INVALID_NAME',
        `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 63 characters)`,
      );
    }
    const ip = optionalString(body.ip, 'ip');
    const aliases = stringList(body.aliases, 'aliases');
    const publish = stringList(body.publish, 'publish') ?? [];
    const offload = offloadOption(body.offload);
    // Bad -p values fail before anything is made.
    parsePortSpecs(publish);
    const requested = optionalString(body.network, 'network');
    return this.locks.run(name, async () => {
      const existing = this.containers.find(name);
      if (existing?.name === name) throw errors.containerExists(name, existing.id);
      const network = requested ?? (await this.defaultNetwork());
      // Fail fast on an unknown network, before anything is made.
      await this.network.inspectNetwork(network);
      const id = randomBytes(32).toString('hex');
      const record = await this.containers.start(name, id);
      try {
        await this.network.registerContainer({
          id,
          name,
          endpoint: { kind: 'unixdir', dir: record.endpoint.slice('unixdir:'.length) },
          running: true,
        });
        await this.network.connect(id, network, { ip, aliases, offload });
        await this.network.publish(id, publish);
      } catch (error) {
        await this.network.unregisterContainer(id).catch(() => undefined);
        await this.containers.remove(record).catch(() => undefined);
        throw error;
      }
      return this.view(record);
    });
  }

  /** The predefined `bridge` network, made on first use (Docker's API lists it always). */
  ensureDefaultNetwork(): Promise<string> {
    return this.defaultNetwork();
  }

  private async defaultNetwork(): Promise<string> {
    return this.locks.run('network', async () => {
      const networks = await this.network.listNetworks();
      if (!networks.some((n) => n.Name === DEFAULT_NETWORK.name)) {
        this.options.logger.info({ network: DEFAULT_NETWORK }, 'creating the default lab network');
        await this.network.createNetwork(DEFAULT_NETWORK);
      }
      return DEFAULT_NETWORK.name;
    });
  }

  async inspectContainer(ref: string): Promise<LabContainer> {
    return this.view(this.record(ref));
  }

  /** Only `lab stats` asks both VMs for drop counters; inspect, exec and the Docker API do not. */
  async containerStats(ref: string): Promise<LabContainer> {
    return withDrops(this.network, await this.view(this.record(ref)));
  }

  async removeContainer(ref: string): Promise<LabContainer> {
    const record = this.record(ref);
    return this.locks.run(record.name, async () => {
      const view = await this.view(record);
      await this.network.unregisterContainer(record.id);
      await this.containers.remove(record);
      return { ...view, state: 'exited' as const };
    });
  }

  async stopContainer(ref: string): Promise<LabContainer> {
    const record = this.record(ref);
    return this.locks.run(record.name, () => this.stopLocked(record));
  }

  async startContainer(ref: string): Promise<LabContainer> {
    const record = this.record(ref);
    return this.locks.run(record.name, () => this.startLocked(record));
  }

  async restartContainer(ref: string): Promise<LabContainer> {
    const record = this.record(ref);
    return this.locks.run(record.name, async () => {
      await this.stopLocked(this.record(record.name));
      return this.startLocked(this.record(record.name));
    });
  }

  /** The VM goes away, then the host library hears of it (relays, helper ports, DNS). */
  private async stopLocked(record: LabContainerRecord): Promise<LabContainer> {
    const stopped = record.stopped ? record : await this.containers.stop(record);
    await this.network.containerStopped(record.id);
    return this.view(stopped);
  }

  /** A new VM stand-in, then the host library restores its attachments as they were. */
  private async startLocked(record: LabContainerRecord): Promise<LabContainer> {
    if (!record.stopped && (await this.containers.pid(record)) > 0) return this.view(record);
    const started = await this.containers.restart(record);
    await this.network.containerStarted(record.id);
    return this.view(started);
  }

  /**
   * The supervisor's restart of a forwarder that died: under the container's
   * lock, and only when it should run and does not; then the host library
   * re-applies its attachments. False when there was nothing to do.
   */
  async reviveForwarder(name: string): Promise<boolean> {
    return this.locks.run(name, async () => {
      const record = this.containers.find(name);
      if (!record || record.name !== name || record.stopped) return false;
      if ((await this.containers.pid(record)) > 0) return false;
      await this.containers.respawn(record);
      await this.options.forwarderRestarted?.(record.id);
      return true;
    });
  }

  async containerPorts(ref: string): Promise<PublishedPort[]> {
    return this.network.ports(this.record(ref).id);
  }

  async containerPort(ref: string, port: string): Promise<PublishedPort[]> {
    return this.network.ports(this.record(ref).id, port);
  }

  async shutdown(): Promise<void> {
    setImmediate(this.options.onShutdown);
  }

  /** The container's one view: its record, its forwarder's pid and the host's attachments. */
  private async view(record: LabContainerRecord): Promise<LabContainer> {
    const pid = await this.containers.pid(record);
    const attachments = await this.network
      .listAttachments()
      .then((all) => all.filter((a) => a.containerId === record.id))
      .catch(() => []);
    return {
      name: record.name,
      id: record.id,
      namespace: record.namespace,
      pid,
      state: pid > 0 ? 'running' : 'exited',
      endpoint: record.endpoint,
      attachments,
      ports: attachments.flatMap((a) => a.ports ?? []),
      created: record.created,
    };
  }
}

/** A request's offload preference (absent: the lab's default). Throws INVALID_OPTION. */
function offloadOption(value: unknown): OffloadPreference | undefined {
  const text = optionalString(value, 'offload');
  return text === undefined ? undefined : parseOffloadPreference(text, 'auto');
}
